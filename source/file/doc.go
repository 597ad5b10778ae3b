// Package file is the k8saudit file source: audit log files read once (a
// plain path: a file, or a directory read in modification-time order), or
// followed like `tail -F` (file:///path), the way a node-level deployment
// reads kube-apiserver's --audit-log-path.
//
// # Following
//
// A Follower reads complete lines from the file, submits them in batches
// and commits, per the delivery contract, the file's identity (device and
// inode) and the offset after the batch's last line. It polls for growth.
// When the path names a new file (rename + create, as kube-apiserver's
// --audit-log-maxsize rotation does), it reads the old file to its end
// through the descriptor it holds, then starts the new one at offset 0;
// when the file shrinks under it (copytruncate) it starts again at 0.
// Rotated backups (audit-<time>.log, .gz) are never opened by name, so
// compressed backups are ignored.
//
// The committed position is kept in a state file (JSON, replaced
// atomically) under state_dir, or init_config.checkpoint_file. On start
// it resumes there: the same inode at that offset; when the file was
// rotated meanwhile, the old inode is looked for among the directory's
// files (a rotated, not yet compressed backup) and read to its end first.
// Without a state file it starts at the end of the file, as upstream does
// (init_config.start_position: beginning reads it whole).
package file
