// Package event holds casus's leaf domain types: the canonical telemetry Event
// (ECS-named fields), the Signal a rule match produces, the activity Class and
// the Evidence that points back at the Kafka record a signal came from.
//
// It imports nothing of casus and nothing of Kafka, so every stage can share it.
package event
