"""The shared assertion of the adversarial tests: a call is refused with the project's error
type (and the builtin it subclasses), and the message says what is wrong in words a user can
act on."""
import pytest

from tinygrad_rnn import TinygradRNNError


def refuses(error, call, *phrases):
    """call() raises `error` (a TinygradRNNError) whose message holds every phrase."""
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, TinygradRNNError)
    message = str(raised.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} missing from {error.__name__}: {message}"
    return raised.value


def cases(table):
    """pytest.param rows from {id: row}, for parametrize."""
    return [pytest.param(*row, id=name) for name, row in table.items()]


def refusal_cases(table):
    """pytest.param(error, call, phrases) rows from {id: (error, call, *phrases)}."""
    return [pytest.param(error, call, phrases, id=name)
            for name, (error, call, *phrases) in table.items()]
