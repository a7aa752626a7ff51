"""The offline plan: read a stack file, render its desired state, check the result against the
upstream workloads and the real schemas, and print it as YAML, a kubectl runbook or Markdown.

Needs no cluster and no Pulumi CLI; never imports the Pulumi SDK.
"""
