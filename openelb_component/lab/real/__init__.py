"""Real OpenELB in the lab: its own binaries, against a real control plane, in the lab's node
namespaces (``lab --openelb real``). One module per real component: the speaker and controller
of 0.6, the manager of 0.5, the link from the namespaces to the API server, and the objects a
cluster holds for them (the stack's, the Eips, the Services)."""
