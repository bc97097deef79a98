package main

import (
	"flag"
	"io"
	"log/slog"
	"strings"

	"github.com/pkjwt/pkjwt/internal/reqlog"
)

// logFlags are --log-format and --log-level, of the commands that serve
// (serve, emulator, demo). At every level no log line holds a token, an
// assertion, a key or a password; debug adds the machine endpoints' request
// lines (JWKS, metrics, health) and detail.
type logFlags struct {
	format, level *string
	fs            *flag.FlagSet
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	return &logFlags{
		fs:     fs,
		format: fs.String("log-format", "text", "log line format on stderr: "+strings.Join(reqlog.Formats, " or ")),
		level:  fs.String("log-level", "info", "lowest level logged: "+strings.Join(reqlog.Levels, ", ")+" (debug adds detail, never a secret)"),
	}
}

// logger returns the logger the flags ask for, writing to w; a bad value is
// a usage error.
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	level, err := reqlog.ParseLevel(*l.level)
	if err != nil {
		return nil, usagef("%s: %v", origin(l.fs, "log-level"), err)
	}
	log, err := reqlog.New(w, *l.format, level)
	if err != nil {
		return nil, usagef("%s: %v", origin(l.fs, "log-format"), err)
	}
	return log, nil
}
