package aks

import (
	"os"
	"testing"

	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// TestMain stops the emulators that tests started (akstest.Need starts
// them on first use, so unit tests and fuzzing never wait for them).
func TestMain(m *testing.M) { os.Exit(akstest.Main(m)) }
