"""People and who may see whom: accounts, invitations, care teams, data rights."""
