// Package kubernetes holds the manifests that run one load test as a
// Kubernetes Indexed Job (one segment per pod) and merge the results; its
// test checks them, since no cluster is reachable where load is built.
package kubernetes
