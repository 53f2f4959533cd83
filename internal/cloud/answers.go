package cloud

import (
	"encoding/json"
	"errors"
	"regexp"
)

// The service refuses with a message. The documented messages, and those
// of the states the documents describe but do not word (the emulator's),
// are turned here into typed errors, so that callers decide with errors.Is
// and errors.As and never read a message. Error.Answer holds the typed
// form; errors.Is and errors.As reach it through the *Error.

// Pack states named by the answers [doc].
const (
	StateCommissioned   = "Commissioned"
	StateDecommissioned = "Decommissioned"
)

// Sentinels of the answers about one named thing; the answer itself is a
// *NamedError that says which thing.
var (
	// ErrExists: an order with the id exists ("Label order already
	// exists!", "Packaging order already exists!").
	ErrExists = errors.New("already exists")
	// ErrNotFound: a batch, template, destination, packaging line or order,
	// serial, container or route the request names is unknown.
	ErrNotFound = errors.New("not found")
	// ErrNotCommissioned: a pack to aggregate was never commissioned.
	ErrNotCommissioned = errors.New("not commissioned")
	// ErrNoAggregation: a child container holds nothing yet.
	ErrNoAggregation = errors.New("has no aggregation")
	// ErrInsideItself: the parent is inside the child container.
	ErrInsideItself = errors.New("would contain itself")
)

// NamedError is an answer about one thing: What is its kind as the service
// words it ("Serial", "Container", "Label order", "Batch", …) and Name its
// serial, SSCC or id when the message gives one.
type NamedError struct {
	Err  error // ErrExists, ErrNotFound, ErrNotCommissioned, ErrNoAggregation or ErrInsideItself
	What string
	Name string
	msg  string // the service's words
}

func (e *NamedError) Error() string {
	switch {
	case e.msg != "":
		return e.msg
	case e.Name == "":
		return e.What + " " + e.Err.Error()
	}
	return e.What + " " + e.Name + " " + e.Err.Error()
}

func (e *NamedError) Unwrap() error { return e.Err }

// AlreadyDoneError is "Serial X is already Commissioned" (or
// Decommissioned): the serial is in that state already. The message names
// one serial; an answer may also list, in data[], every serial of the
// request it refused with its status, and then Listed holds them.
type AlreadyDoneError struct {
	Serial string
	State  string // StateCommissioned or StateDecommissioned
	Listed []SerialStatus
}

func (e *AlreadyDoneError) Error() string { return "Serial " + e.Serial + " is already " + e.State }

// Serials returns every serial the answer names, each with its state: the
// one of the message first, then the others listed.
func (e *AlreadyDoneError) Serials() []SerialStatus {
	out := []SerialStatus{{SerialNumber: e.Serial, Status: e.State}}
	for _, s := range e.Listed {
		if s.SerialNumber != e.Serial && (s.Status == StateCommissioned || s.Status == StateDecommissioned) {
			out = append(out, s)
		}
	}
	return out
}

// AlreadyAggregatedError is "Serial X is already aggregated in P" (or
// "Container X …"): the child is in container Parent.
type AlreadyAggregatedError struct {
	Child     string // serial number, or SSCC when Container
	Container bool
	Parent    string
}

func (e *AlreadyAggregatedError) Error() string {
	return childWord(e.Container) + " " + e.Child + " is already aggregated in " + e.Parent
}

// NotInContainerError is "Serial X is not in container P" (or "Container
// X …"), the answer to taking out a child that is not in Parent.
type NotInContainerError struct {
	Child     string
	Container bool
	Parent    string
}

func (e *NotInContainerError) Error() string {
	return childWord(e.Container) + " " + e.Child + " is not in container " + e.Parent
}

// InContainerError is "Serial X is aggregated in P: disaggregate it
// first", the answer to decommissioning a pack still in a container.
type InContainerError struct {
	Serial string
	Parent string
}

func (e *InContainerError) Error() string {
	return "Serial " + e.Serial + " is aggregated in " + e.Parent + ": disaggregate it first"
}

func childWord(container bool) string {
	if container {
		return "Container"
	}
	return "Serial"
}

// Messages that are the whole answer.
var fixedAnswers = map[string]NamedError{
	MsgLabelOrderExists:               {Err: ErrExists, What: "Label order"},
	"Packaging order already exists!": {Err: ErrExists, What: "Packaging order"},
	MsgBatchNotFound:                  {Err: ErrNotFound, What: "Batch"},
	MsgTemplateMissing:                {Err: ErrNotFound, What: "Printing template"},
	MsgDestinationAbsent:              {Err: ErrNotFound, What: "Destination"},
	"Packaging line not found":        {Err: ErrNotFound, What: "Packaging line"},
	"Packaging order not found":       {Err: ErrNotFound, What: "Packaging order"},
}

// Messages that name a serial or container. Serials are GS1 CSET 82 and
// SSCCs digits, so neither holds a space.
var namedAnswers = []struct {
	re    *regexp.Regexp
	build func(m []string) error
}{
	{regexp.MustCompile(`^Serial (\S+) is already (Commissioned|Decommissioned)$`), func(m []string) error {
		return &AlreadyDoneError{Serial: m[1], State: m[2]}
	}},
	{regexp.MustCompile(`^(Serial|Container) (\S+) is already aggregated in (\S+)$`), func(m []string) error {
		return &AlreadyAggregatedError{Child: m[2], Container: m[1] == "Container", Parent: m[3]}
	}},
	{regexp.MustCompile(`^(Serial|Container) (\S+) is not in container (\S+)$`), func(m []string) error {
		return &NotInContainerError{Child: m[2], Container: m[1] == "Container", Parent: m[3]}
	}},
	{regexp.MustCompile(`^Serial (\S+) is aggregated in (\S+): disaggregate it first$`), func(m []string) error {
		return &InContainerError{Serial: m[1], Parent: m[2]}
	}},
	{regexp.MustCompile(`^Serial (\S+) is not commissioned$`), func(m []string) error {
		return &NamedError{Err: ErrNotCommissioned, What: "Serial", Name: m[1]}
	}},
	{regexp.MustCompile(`^(Serial|Container) (\S+) not found$`), func(m []string) error {
		return &NamedError{Err: ErrNotFound, What: m[1], Name: m[2]}
	}},
	{regexp.MustCompile(`^Container (\S+) has no aggregation: aggregate its items first$`), func(m []string) error {
		return &NamedError{Err: ErrNoAggregation, What: "Container", Name: m[1]}
	}},
	{regexp.MustCompile(`^Container \S+ cannot hold (\S+): it is inside it$`), func(m []string) error {
		return &NamedError{Err: ErrInsideItself, What: "Container", Name: m[1]}
	}},
	{regexp.MustCompile(`^Route not found: (.+)$`), func(m []string) error {
		return &NamedError{Err: ErrNotFound, What: "Route", Name: m[1]}
	}},
}

// answer returns the typed form of a refusal's message, or nil for a
// message it does not know. data is the answer's data field, if any.
func answer(msg string, data json.RawMessage) error {
	if a, ok := fixedAnswers[msg]; ok {
		a.msg = msg
		return &a
	}
	for _, p := range namedAnswers {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			err := p.build(m)
			if ne, ok := err.(*NamedError); ok {
				ne.msg = msg
			}
			if ad, ok := err.(*AlreadyDoneError); ok && len(data) > 0 {
				// A list the client cannot read leaves the one named
				// serial, which is still right.
				var listed []SerialStatus
				if json.Unmarshal(data, &listed) == nil {
					ad.Listed = listed
				}
			}
			return err
		}
	}
	return nil
}
