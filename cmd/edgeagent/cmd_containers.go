package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/containers"
)

func cmdContainersList(e env) error {
	fs := flags(e, "containers list", "--config FILE [--state open|closed|cancelled|disaggregated]", "List the cases and pallets built at stations, with their contents.")
	cfgPath := fs.String("config", "", "configuration file")
	state := fs.String("state", "", "only containers in this state")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	switch *state {
	case "", "open", "closed", "cancelled", "disaggregated":
	default:
		return usageError{fmt.Sprintf("--state must be open, closed, cancelled or disaggregated; got %q", *state)}
	}
	l, db, err := readLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := l.Containers.List(e.ctx, *state)
	if err != nil {
		return exitError{1, err}
	}
	if len(cs) == 0 {
		fmt.Fprintln(e.stdout, "no containers")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SSCC\tLEVEL\tSTATE\tSTATION\tITEMS\tCONTENTS")
	for _, c := range cs {
		items := append(append([]string{}, c.Packs...), c.Children...)
		contents := strings.Join(items, " ")
		if len(items) > 4 {
			contents = strings.Join(items[:4], " ") + fmt.Sprintf(" … (%d more)", len(items)-4)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", c.SSCC, c.Level, c.State, c.Station, len(items), contents)
	}
	return tw.Flush()
}

// containerAction runs a supervisor's container action on one argument
// with a required reason.
func containerAction(e env, name, usage, help, argName string, path func(arg string) (string, map[string]any),
	act func(ctx context.Context, l *api.Line, arg, reason string) (map[string]any, error), say func(arg string, res map[string]any) string) error {
	fs := flags(e, name, usage, help)
	cfgPath := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why (required)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one " + argName}
	}
	if *reason == "" {
		return usageError{"--reason is required"}
	}
	p, body := path(pos[0])
	body["reason"] = *reason
	res, err := change(e, *cfgPath, p, body, func(ctx context.Context, l *api.Line) (map[string]any, error) {
		return act(ctx, l, pos[0], *reason)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, say(pos[0], res))
	return nil
}

func cmdContainersDisaggregate(e env) error {
	return containerAction(e, "containers disaggregate", "SSCC --config FILE --reason TEXT",
		"Empty a closed case or pallet for rework: every item comes out, the cloud is told, and the container\n"+
			"can be filled and closed again at a station. Written to the audit log.", "SSCC",
		func(sscc string) (string, map[string]any) {
			return "/api/v1/containers/" + url.PathEscape(sscc) + "/disaggregate", map[string]any{}
		},
		func(ctx context.Context, l *api.Line, sscc, reason string) (map[string]any, error) {
			return nil, l.Containers.Disaggregate(ctx, actor(), sscc, reason)
		},
		func(sscc string, _ map[string]any) string { return "container " + sscc + " disaggregated" })
}

func cmdContainersRemove(e env) error {
	return containerAction(e, "containers remove", "ITEM --config FILE --reason TEXT",
		"Take one item out of its container: a pack as GTIN/serial or a case as its SSCC.\n"+
			"If the container was closed, the cloud is told. Written to the audit log.", "item: GTIN/serial or SSCC",
		func(item string) (string, map[string]any) {
			return "/api/v1/containers/remove", map[string]any{"item": item}
		},
		func(ctx context.Context, l *api.Line, item, reason string) (map[string]any, error) {
			it, err := containers.ParseItem(item)
			if err != nil {
				return nil, err
			}
			in, err := l.Containers.Remove(ctx, actor(), it, reason)
			return map[string]any{"container": in}, err
		},
		func(item string, res map[string]any) string {
			return fmt.Sprintf("%s taken out of %v", item, res["container"])
		})
}
