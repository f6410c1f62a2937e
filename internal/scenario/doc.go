// Package scenario generates casus's bundled scenario: ECS telemetry from six
// organisations, mostly benign, with a scripted reconnaissance campaign
// against an energy utility and a bank, followed by a destructive wave
// against four banks and the utility's control systems by an actor the
// bundled intelligence links to a state, and, for contrast, criminal
// ransomware at an ordinary business and background scanning of it.
//
// Generation is deterministic for a seed, so tests can state which
// escalations the scenario must produce. The asset inventory and the
// intelligence file that give the scenario its meaning are embedded beside it.
package scenario
