package winevt

import "fmt"

// TableRows renders every row of the logsource tables as README.md spells
// it, for the test that keeps the two in step.
func TableRows() []string {
	var rows []string
	for _, r := range channelServices() {
		rows = append(rows, fmt.Sprintf("| `%s` | `%s` |", r.channel, r.service))
	}
	for _, r := range eventCategories() {
		rows = append(rows, fmt.Sprintf("| `%s` | %d | `%s` |", r.service, r.id, r.category))
	}
	return rows
}
