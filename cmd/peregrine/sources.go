package main

import (
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks"
	"github.com/peregrine-sec/peregrine/source/eks"
	"github.com/peregrine-sec/peregrine/source/gke"
	"github.com/peregrine-sec/peregrine/source/kafka"
)

// openers are every source this build has, by plugin name: the daemon's
// own (the k8saudit webhook and files) and the cloud sources and Kafka.
func openers() map[string]source.Opener {
	m := daemon.Openers()
	m["k8saudit-eks"] = eks.Open
	m["k8saudit-aks"] = aks.Open
	m["k8saudit-gke"] = gke.Open
	m["kafka"] = kafka.Open
	return m
}
