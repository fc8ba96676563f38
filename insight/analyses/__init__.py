"""What the pages show, as functions returning data: tables of evaluations, agents, tags, the capability
diagnosis."""
