"""What the agent may touch: secrets, confinement, approvals."""
