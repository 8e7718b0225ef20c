package schedule

import "fmt"

// SyntaxError is a schedule, cron or duration expression that cannot be
// read. Pos is the byte offset in Input where the problem starts, so a
// manifest loader can turn it into a column.
type SyntaxError struct {
	Input string
	Pos   int
	Msg   string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%q (at column %d): %s", e.Input, e.Pos+1, e.Msg)
}

func syntaxErr(input string, pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Input: input, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
