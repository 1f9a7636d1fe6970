"""The ten §7.3 methods: parameters, access checks, local answers, and the call/answer types the
cascade router works with."""
