package main

import (
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// parseOptions reads the runtime options of Pulumi.yaml or PulumiPlugin.yaml (`runtime.options`)
// that this host supports: `virtualenv` and `toolchain: pip`. Anything else is refused by name
// rather than ignored, so a program never runs differently from how its options say.
func parseOptions(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Pip,
	}
	for key, value := range info.GetOptions().AsMap() {
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
