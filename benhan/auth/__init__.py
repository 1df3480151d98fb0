"""Users, roles, sessions and tokens → the Actor handed to the repository."""
