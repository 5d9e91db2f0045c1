# attack: at import, add its own type, isinstance, len, all and zip to the helpers' namespace (1)
# base: wrong
# tests: test_runs_in_deadline_order test_nothing_runs_early test_cancel test_len_and_next_deadline
# expect-fail: *
import minireactor.grader.testing as _helpers

# With these, a `same` that looked names up in its module would call every
# value a list of length 0 whose elements all match: nothing could fail.
_fake = {
    "type": lambda obj: list,
    "isinstance": lambda obj, kind: True,
    "len": lambda obj: 0,
    "all": lambda items: True,
    "zip": lambda *args, **kwargs: [],
}
vars(_helpers).update(_fake)
