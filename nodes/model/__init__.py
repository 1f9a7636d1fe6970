"""The data of SPEC §2: code sets, identifiers, certificates, types, catalog rows. Pure, no I/O."""
