"""The exceptions other modules may catch. Each says in one sentence what is wrong and where."""


class RegulationError(Exception):
    """Base class: anything the regulation module refuses."""


class DataError(RegulationError):
    """A data file is broken. Raised at load time so a bad edit never reaches a running platform."""

    def __init__(self, file: str, path: str, message: str):
        self.file = file
        self.path = path
        self.message = message
        location = f"{file}: {path}" if path else file
        super().__init__(f"{location}: {message}")


class InvalidFacts(RegulationError, ValueError):
    """A facts document does not follow docs/level-facts.md; `path` points at the offending value."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class RegulationLookupError(RegulationError, LookupError):
    """Something asked for is not in the data (a regime, a requirement, a timer step, a report kind)."""


class UnknownRegime(RegulationLookupError):
    """No regime has this code."""


class NoRegimeInForce(RegulationLookupError):
    """No regime in the data was in force on the date asked about."""
