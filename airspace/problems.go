package airspace

import (
	"fmt"
	"strings"
)

// LoadError is every problem found in one sector source. A loader reads and checks the whole source before it
// returns, so a user fixes a file in one pass instead of one error per run; a source with problems never loads
// in part.
type LoadError struct {
	// Path is the file or folder loaded.
	Path string
	// Problems are in the order they were found, each naming its file, feature or element.
	Problems []string
}

// maxListedProblems bounds the message of a source that is wrong throughout (a file in the wrong format gives
// one problem per feature); Problems keeps them all.
const maxListedProblems = 50

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "airspace: %s: %d problem", e.Path, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for i, p := range e.Problems {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// problems collects a source's problems while it is read.
type problems struct {
	path string
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// err is nil when nothing was found, else a *LoadError with everything that was.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &LoadError{Path: p.path, Problems: p.list}
}
