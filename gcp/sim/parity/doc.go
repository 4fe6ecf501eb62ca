// Package parity measures the simulator against recorded real Google
// traffic. Its tests replay public recordings of Google Cloud REST calls
// (testdata/*.log, each with its provenance in testdata/SOURCES) against a
// started simulator, over a real socket and through the front door that
// gcloud uses, and compare each answer with Google's: the status, the set
// of fields, and every value that the recording did not normalise. What
// still differs, and why that is accepted, is written in accepted_test.go;
// anything else fails the test.
//
// The package holds no code of its own beyond this comment: it is a test
// suite, kept apart so that it reaches the simulator only over the wire.
package parity
