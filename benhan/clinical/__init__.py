"""EMR workflows on top of FHIR resources."""
from benhan.clinical import act_rules
from benhan.clinical.identifier_rules import install_rules

# Installed on import: every entry point that writes (the web app, the CLI) imports clinical, so
# the CCCD/BHYT rules hold on each of its write paths (store.write_rules).
install_rules()
# The parts of a visit only the doctor's discharge writes (store.act_rules), likewise on every path.
act_rules.install_rules()
# No record deleted before its TT 33/2025 end date (store.retention_guard), likewise on every path.
from benhan.clinical import retention  # noqa: E402

retention.install_rules()
