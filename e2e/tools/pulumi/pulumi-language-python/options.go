package main

import (
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// flagOptions are the runtime options an older engine passed as flags (main.go).
var flagOptions = map[string]*string{}

// requestOptions are a request's runtime options, or the flags' when it carries none.
func requestOptions(info *pulumirpc.ProgramInfo) map[string]any {
	if options := info.GetOptions().AsMap(); len(options) > 0 {
		return options
	}
	options := map[string]any{}
	for name, value := range flagOptions {
		if value != nil && *value != "" {
			options[name] = *value
		}
	}
	return options
}

// parseOptions reads the runtime options of Pulumi.yaml or PulumiPlugin.yaml (`runtime.options`)
// that this host supports: `virtualenv` and `toolchain: pip`. Anything else is refused by name
// rather than ignored, so a program never runs differently from how its options say.
func parseOptions(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Pip,
	}
	for key, value := range requestOptions(info) {
		text, ok := value.(string)
		if !ok {
			return opts, fmt.Errorf("runtime option %s must be a string, got %v", key, value)
		}
		switch key {
		case "virtualenv":
			opts.Virtualenv = text
		case "toolchain":
			if text != "pip" {
				return opts, fmt.Errorf("runtime option toolchain: %q is not supported by this host (pip is)", text)
			}
		default:
			return opts, fmt.Errorf("runtime option %s is not supported by this host", key)
		}
	}
	// A plugin always gets a virtual environment of its own, `venv` unless it names one: plugins
	// never run in the ambient Python (the release host's rule for pip plugins).
	if isPlugin && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}
