package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ReadObserved decodes live state written as JSON (the form documented in
// docs/diff-json.md, and what the server's API will return). Unknown fields
// are ignored on purpose: state fields an export carries along (tasksStaged,
// deployments, lastSuccess, ...) are not intent and must not fail a diff.
// Errors name the file, line and column.
func ReadObserved(name string, data []byte) (Observed, error) {
	var o Observed
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&o); err != nil {
		return Observed{}, positioned(name, data, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err == nil {
		rest := data[end:]
		off := end + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
		line, col := lineCol(data, off)
		return Observed{}, fmt.Errorf("%s:%d:%d: unexpected data after the state object", name, line, col)
	}
	return o, nil
}

func positioned(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("%s:%d:%d: %v", name, line, col, syn)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		return fmt.Errorf("%s:%d:%d: %s: want %s, got %s", name, line, col, typ.Field, typ.Type, typ.Value)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
