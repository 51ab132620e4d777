// Package examples holds zloop's short runnable examples (example_test.go, shown by go doc and
// checked by go test); the programs are in the folders below it, such as quickstart.
package examples
