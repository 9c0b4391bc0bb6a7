"""The demo data set (README, "Demo logins"): created only where missing, through the services."""
