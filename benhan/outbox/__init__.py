"""Messages benhan sends to other services. Today: SMS (the patient's one-time confirmation code).
The durable queue with retries that claims and the VNeID push will share comes with those issues;
a one-time code is sent at once or not at all (a late code is useless), so it does not queue."""
