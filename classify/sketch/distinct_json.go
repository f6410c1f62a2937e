package sketch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// distinctWire is the JSON form of a Distinct. Exactly one mode is present:
//
//   - exact: "bound", and the values sorted bytewise, split into "values"
//     (valid UTF-8, as JSON strings) and "binary_values" (the rest, base64)
//     because JSON strings cannot carry invalid UTF-8 losslessly;
//   - HLL: "bound", "floor" (> 0, the distinct values known for certain
//     at the switch) and the registers, either "registers" (base64 of all
//     4096 bytes) or, when fewer than a third of them are non-zero,
//     "sparse" (base64 of 3-byte entries: big-endian 16-bit index, then the
//     register value, by ascending index). All-zero registers are written
//     as neither.
//
// The mode is chosen by floor: an HLL sketch always has floor > 0.
type distinctWire struct {
	Bound        int      `json:"bound"`
	Values       []string `json:"values,omitempty"`
	BinaryValues [][]byte `json:"binary_values,omitempty"`
	Floor        int      `json:"floor,omitempty"`
	Registers    []byte   `json:"registers,omitempty"`
	Sparse       []byte   `json:"sparse,omitempty"`
}

const sparseEntry = 3

// MarshalJSON encodes d deterministically: the same content gives the same
// bytes whatever the order values were added in. It has a value receiver
// so a Distinct held by value in a struct encodes the same way.
func (d Distinct) MarshalJSON() ([]byte, error) {
	w := distinctWire{Bound: d.limit()}
	if d.regs == nil {
		for _, v := range d.Values() {
			if utf8.ValidString(v) {
				w.Values = append(w.Values, v)
			} else {
				w.BinaryValues = append(w.BinaryValues, []byte(v))
			}
		}
		return json.Marshal(w)
	}
	w.Floor = d.floor
	nz := 0
	for _, r := range d.regs {
		if r != 0 {
			nz++
		}
	}
	if nz*sparseEntry < numRegisters {
		sp := make([]byte, 0, nz*sparseEntry)
		for i, r := range d.regs {
			if r != 0 {
				sp = binary.BigEndian.AppendUint16(sp, uint16(i))
				sp = append(sp, r)
			}
		}
		w.Sparse = sp
	} else {
		w.Registers = d.regs
	}
	return json.Marshal(w)
}

// UnmarshalJSON replaces d with the sketch in data. It checks everything a
// snapshot from another process could get wrong (unknown fields, bound,
// value order and count, register count and values, mixed modes) and
// returns an error wrapping ErrInvalid, leaving d unchanged, rather than
// holding a sketch that would miscount. A JSON null leaves d unchanged.
func (d *Distinct) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var w distinctWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("decoding distinct sketch: %w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("decoding distinct sketch: %w: trailing data after the object", ErrInvalid)
	}
	nd, err := w.distinct()
	if err != nil {
		return fmt.Errorf("decoding distinct sketch: %w: %w", ErrInvalid, err)
	}
	*d = *nd
	return nil
}

// distinct validates w and builds the Distinct it describes.
func (w *distinctWire) distinct() (*Distinct, error) {
	if w.Bound < 1 || w.Bound > MaxExactBound {
		return nil, fmt.Errorf("bound %d outside [1, %d]", w.Bound, MaxExactBound)
	}
	d := &Distinct{bound: w.Bound}
	if w.Floor < 0 {
		return nil, fmt.Errorf("negative floor %d", w.Floor)
	}
	if w.Floor == 0 {
		return d, w.exact(d)
	}
	return d, w.hll(d)
}

func (w *distinctWire) exact(d *Distinct) error {
	if w.Registers != nil || w.Sparse != nil {
		return errors.New("registers without a floor")
	}
	if n := len(w.Values) + len(w.BinaryValues); n > w.Bound {
		return fmt.Errorf("%d values exceed bound %d", n, w.Bound)
	}
	for i, v := range w.Values {
		// The decoder turns invalid UTF-8 into U+FFFD, so only order and
		// uniqueness can be wrong here.
		if i > 0 && w.Values[i-1] >= v {
			return fmt.Errorf("values not strictly ascending at index %d", i)
		}
	}
	for i, b := range w.BinaryValues {
		if utf8.Valid(b) {
			return fmt.Errorf("binary value %d is valid UTF-8 and belongs in values", i)
		}
		if i > 0 && bytes.Compare(w.BinaryValues[i-1], b) >= 0 {
			return fmt.Errorf("binary values not strictly ascending at index %d", i)
		}
	}
	if len(w.Values)+len(w.BinaryValues) == 0 {
		return nil
	}
	d.set = make(map[string]struct{}, len(w.Values)+len(w.BinaryValues))
	for _, v := range w.Values {
		d.set[v] = struct{}{}
		d.valBytes += len(v)
	}
	for _, b := range w.BinaryValues {
		d.set[string(b)] = struct{}{}
		d.valBytes += len(b)
	}
	return nil
}

func (w *distinctWire) hll(d *Distinct) error {
	if len(w.Values) > 0 || len(w.BinaryValues) > 0 {
		return errors.New("both values and a floor")
	}
	if w.Floor > maxFloor {
		return fmt.Errorf("floor %d above %d", w.Floor, maxFloor)
	}
	if w.Registers != nil && w.Sparse != nil {
		return errors.New("both dense and sparse registers")
	}
	d.floor = w.Floor
	d.regs = make([]uint8, numRegisters)
	switch {
	case w.Registers != nil:
		if len(w.Registers) != numRegisters {
			return fmt.Errorf("%d registers, want %d", len(w.Registers), numRegisters)
		}
		for i, r := range w.Registers {
			if r > maxRegister {
				return fmt.Errorf("register %d is %d, above %d", i, r, maxRegister)
			}
		}
		copy(d.regs, w.Registers)
	case w.Sparse != nil:
		if len(w.Sparse)%sparseEntry != 0 {
			return fmt.Errorf("sparse registers of %d bytes, not a multiple of %d", len(w.Sparse), sparseEntry)
		}
		prev := -1
		for e := range slices.Chunk(w.Sparse, sparseEntry) {
			idx := int(binary.BigEndian.Uint16(e))
			r := e[2]
			switch {
			case idx >= numRegisters:
				return fmt.Errorf("sparse register index %d, want below %d", idx, numRegisters)
			case idx <= prev:
				return fmt.Errorf("sparse register index %d not above %d", idx, prev)
			case r == 0 || r > maxRegister:
				return fmt.Errorf("sparse register %d is %d, want 1 to %d", idx, r, maxRegister)
			}
			d.regs[idx] = r
			prev = idx
		}
	}
	return nil
}
