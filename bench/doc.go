// Package bench proves load's claims: the built-in demo target (package
// bench/target) and the benchmarks that measure load against it and
// against its peers. Figures and commands are in bench/README.md.
package bench
