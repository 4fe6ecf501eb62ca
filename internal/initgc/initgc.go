// Package initgc pauses the garbage collector while the program's packages
// initialize, and lets the program resume it once it has shown something.
//
// Why: beyond links Google's clients, the simulator and the guide, whose
// package initializers allocate about 10 MB (protobuf descriptors, Markdown
// tables, regular expressions) before main runs. From its 4 MB start the
// collector ran four times during them, to free almost nothing (what init
// allocates lives as long as the program), and cost the guide about a fifth
// of the CPU it spent before its first frame (bench/firstframe). Go
// initializes packages in dependency order, and among those ready the first
// by import path, so this one, which needs only runtime/debug and sync,
// comes before the packages that allocate most; cmd/beyond's
// TestInitPausesBeforeTheHeavyPackages checks that on the built binary.
package initgc

import (
	"runtime/debug"
	"sync"
)

// percent is the collector's setting before init paused it: GOGC's, or 100.
var percent = debug.SetGCPercent(-1)

var once sync.Once

// Resume gives the collector back the setting it had before init paused it.
// Only the first call does anything; a program calls it as soon as it has
// drawn its first frame or decided it draws none.
func Resume() {
	once.Do(func() { debug.SetGCPercent(percent) })
}
