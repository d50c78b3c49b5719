"""The names the generated rule modules use (they start with `from … prelude import *`)."""

from decimal import Decimal  # noqa: F401

from gateway.validation.native.documents import load_document  # noqa: F401
from gateway.validation.native.functions import (  # noqa: F401
    abs_fn,
    cast,
    castable,
    concat,
    dbl1,
    distinct_values,
    matches,
    name_fn,
    normalize_space,
    number_fn,
    onum,
    os_,
    ostr1,
    replace,
    string_fn,
    string_join,
    substring,
    substring_after,
    substring_before,
    sum_fn,
    to_range,
    tokenize,
    translate,
)
from gateway.validation.native.nodes import ANY, attr, attr1, axis1, child, child1, docsort, eq_index, parent, path_map, union  # noqa: F401
from gateway.validation.native.runtime import (  # noqa: F401
    Lazy,
    arith,
    atomize,
    atomize1,
    bool_result,
    conform,
    ebv,
    ebv1,
    ebv_opt,
    filt,
    general,
    general1,
    general11,
    negate,
    one_atom,
    opt_string,
    required,
    round_half_up,
    value_cmp,
    value_of,
)
