package benchseed

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Run is the ghseed program: it parses its flags from args, seeds, writes
// the samples to the files named, and prints the Result as JSON to out.
func Run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ghseed", flag.ContinueOnError)
	var t Target
	var o Options
	var sampleOut, grantSampleOut string
	fs.StringVar(&t.DB, "db", "", "the server's --db: a SQLite file path or a postgres:// URL (required)")
	fs.StringVar(&t.Sessions, "sessions", "db", `the server's --sessions: "db" or a redis:// URL with its key_prefix`)
	fs.IntVar(&o.Cookies, "cookies", 0, "cookie sessions to add")
	fs.IntVar(&o.Grants, "grants", 0, "token grants (record and refresh token) to add")
	fs.StringVar(&o.GrantClient, "grant-client", "", "OAuth client id of the new grants (default: first-party grants)")
	fs.IntVar(&o.Users, "users", 100, "users to spread them over (found or created)")
	fs.IntVar(&o.Sample, "sample", 0, "cookie secrets of new sessions to write to -sample-out")
	fs.StringVar(&sampleOut, "sample-out", "", "file for the cookie secrets, one a line")
	fs.IntVar(&o.GrantSample, "grant-sample", 0, "refresh tokens of new grants to write to -grant-sample-out")
	fs.StringVar(&grantSampleOut, "grant-sample-out", "", "file for the refresh tokens, one a line")
	fs.DurationVar(&o.FreshFor, "fresh-for", 0, "date last use this far ahead, so that checks within it write no touch")
	fs.IntVar(&o.Batch, "batch", 0, "records per bulk insert (default: the backend's)")
	fs.IntVar(&o.Workers, "workers", 0, "bulk inserts at once (default: the backend's)")
	fs.BoolVar(&o.Measure, "measure", false, "report the stores' usage before and after")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if (o.Sample > 0) != (sampleOut != "") || (o.GrantSample > 0) != (grantSampleOut != "") {
		return fmt.Errorf("-sample goes with -sample-out, -grant-sample with -grant-sample-out")
	}
	st, err := Open(ctx, t)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := Seed(ctx, st, o)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path  string
		lines []string
	}{{sampleOut, res.Sample}, {grantSampleOut, res.GrantSample}} {
		if f.path == "" {
			continue
		}
		if err := os.WriteFile(f.path, []byte(strings.Join(f.lines, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(out)
	return enc.Encode(res)
}
