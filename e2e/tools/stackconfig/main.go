// stackconfig prints what the Pulumi CLI makes of a stack file: the configuration a program
// receives (each key's text, as the engine hands it over), and its secret keys. The offline
// loader (openelb_component/plan/stackfile.py) is compared with it in tests/test_stack_loader.py.
//
//	stackconfig PROJECT STACKFILE
//
// It calls the CLI's own code: workspace.LoadProjectStack reads and namespaces the file
// (gopkg.in/yaml.v3), and config.Map.Decrypt gives each key's text (a secure value blinded to
// "[secret]": no secrets provider here). Output: one JSON object, {"config": {...},
// "secretKeys": [...]} or {"error": "..."}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

type result struct {
	Config     map[string]string `json:"config,omitempty"`
	SecretKeys []string          `json:"secretKeys,omitempty"`
	Error      string            `json:"error,omitempty"`
}

func load(project, path string) (out result) {
	// A panic inside the loader is an answer too: the CLI would crash on this file.
	defer func() {
		if caught := recover(); caught != nil {
			out = result{Error: fmt.Sprintf("panic: %v", caught)}
		}
	}()
	stack, err := workspace.LoadProjectStack(nil, &workspace.Project{Name: tokens.PackageName(project)}, path)
	if err != nil {
		return result{Error: err.Error()}
	}
	values, err := stack.Config.Decrypt(config.NewBlindingDecrypter())
	if err != nil {
		return result{Error: err.Error()}
	}
	out.Config = map[string]string{}
	for key, value := range values {
		out.Config[key.String()] = value
	}
	for _, key := range stack.Config.SecureKeys() {
		out.SecretKeys = append(out.SecretKeys, key.String())
	}
	sort.Strings(out.SecretKeys)
	return out
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: stackconfig PROJECT STACKFILE")
		os.Exit(2)
	}
	encoded, err := json.Marshal(load(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(encoded))
}
