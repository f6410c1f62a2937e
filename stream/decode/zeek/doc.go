// Package zeek decodes Zeek logs into casus's canonical event.Event: JSON
// records as the zeek-kafka writer, Corelight sensors or log forwarders
// (Filebeat, Vector) publish them, and Zeek's default tab-separated ASCII
// log files read offline with TSVReader.
//
// Both forms are first turned into one flat list of Zeek fields (dotted
// names such as id.orig_h, values as text), so the mapping of conn, dns,
// http, ssl, notice, weird, modbus and dnp3 records to ECS is written once.
// The field mapping, the logsource per log type and the leniency rules are
// in README.md.
//
// The package holds no global state and exports no metrics; it imports
// nothing of Kafka.
package zeek
