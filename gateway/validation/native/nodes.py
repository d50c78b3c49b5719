"""Node steps over lxml for the compiled rules: axes, node tests, document order, unions.

A step function takes the document state `R` where it needs it (document nodes, order).  Axis functions
return one node's axis in axis order (reverse axes nearest first), as positional predicates count them.
"""

from __future__ import annotations

from bisect import bisect_left

from lxml import etree

from gateway.validation.native.runtime import Attr, Doc, Element, XPathError

ANY = etree.Element


class DocState:
    """Per-document state: the document node, document order (built on first need), loaded documents."""

    __slots__ = ("_by_tag", "_order", "base", "doc", "docs", "globals", "location_cache")

    def __init__(self, root: Element) -> None:
        self.doc = Doc(root, 0)
        self._order: dict | None = None
        self.docs: dict = {}
        self.globals: dict = {}
        self.base = ""
        self._by_tag: dict | None = None

    def descendants(self, node: Element, tag: str, with_self: bool) -> list:
        """Descendant elements named `tag`, from an index of the main document built once (the rules search the whole
        invoice for one element name hundreds of times: one walk instead of one each)."""
        if self._by_tag is None:
            self._by_tag = {}
            if self._order is None:
                self._order = {}
            order = self._order
            for i, element in enumerate(self.doc.root.iter(ANY)):
                order.setdefault(element, (0, i, -1))
                self._by_tag.setdefault(element.tag, ([], []))
                entry = self._by_tag[element.tag]
                entry[0].append(element)
                entry[1].append(i)
        found = self._by_tag.get(tag)
        if found is None:
            return []
        elements, numbers = found
        if node is self.doc.root and with_self:
            return list(elements)
        start = self._order[node][1]  # type: ignore[index]
        end = self._subtree_end(node)
        low = bisect_left(numbers, start if with_self else start + 1)
        high = bisect_left(numbers, end, low)
        return elements[low:high]

    def _subtree_end(self, node: Element) -> int:
        current = node
        while current is not None:
            following = current.getnext()
            while following is not None and not isinstance(following.tag, str):
                following = following.getnext()
            if following is not None:
                return self._order[following][1]  # type: ignore[index]
            current = current.getparent()
        return 1 << 60

    def in_main(self, node: object) -> bool:
        return isinstance(node, Element) and node.getroottree().getroot() is self.doc.root

    def root_of(self, node: object) -> list:
        if type(node) is Doc:
            return [node]
        if type(node) is Attr:
            node = node.parent  # type: ignore[union-attr]
        if not isinstance(node, Element):
            raise XPathError("XPTY0020: the context item for '/' is not a node")
        root = node.getroottree().getroot()
        if root is self.doc.root:
            return [self.doc]
        for doc in self.docs.values():
            if doc.root is root:
                return [doc]
        raise XPathError("XPDY0050: '/' of a node outside the documents")

    def parent(self, node: object) -> object | None:
        if type(node) is Attr:
            return node.parent  # type: ignore[union-attr]
        if type(node) is Doc:
            return None
        parent = node.getparent()  # type: ignore[union-attr]
        if parent is not None:
            return parent
        return self.root_of(node)[0]

    def order(self, node: object) -> tuple:
        if self._order is None:
            self._order = {}
        if type(node) is Doc:
            return (node.seq, -1, -1)  # type: ignore[union-attr]
        if type(node) is Attr:
            base = self.order(node.parent)  # type: ignore[union-attr]
            keys = list(node.parent.attrib.keys())  # type: ignore[union-attr]
            return (base[0], base[1], keys.index(node.name))  # type: ignore[union-attr]
        key = self._order.get(node)
        if key is None:
            doc = self.root_of(node)[0]
            for i, element in enumerate(doc.root.iter(ANY)):  # type: ignore[union-attr]
                self._order[element] = (doc.seq, i, -1)  # type: ignore[union-attr]
            key = self._order[node]
        return key


# -- node tests: ("name", clark) ("any",) ("ns", uri) ("local", name) ("kind", kind)


def lxml_tag(test: tuple) -> object:
    """The lxml tag filter for an element test."""
    kind = test[0]
    if kind == "name":
        return test[1]
    if kind == "any" or test == ("kind", "element"):
        return ANY
    if kind == "ns":
        return f"{{{test[1]}}}*"
    if kind == "local":
        return f"{{*}}{test[1]}"
    raise ValueError(test)


def element_matches(node: object, test: tuple) -> bool:
    if not isinstance(node, Element) or not isinstance(node.tag, str):
        return False
    kind = test[0]
    if kind == "name":
        return node.tag == test[1]
    if kind == "any" or test == ("kind", "element") or test == ("kind", "node"):
        return True
    if kind == "ns":
        return node.tag.startswith(f"{{{test[1]}}}")
    if kind == "local":
        return etree.QName(node).localname == test[1]
    return False


def node_matches(node: object, test: tuple, principal: str = "element") -> bool:
    """A node test on any axis (attribute axis: principal 'attribute')."""
    if test == ("kind", "node"):
        return True
    if test == ("kind", "document-node"):
        return type(node) is Doc
    if principal == "attribute" or test == ("kind", "attribute"):
        if type(node) is not Attr:
            return False
        if test[0] == "kind":
            return True
        return attribute_name_matches(node.name, test)  # type: ignore[union-attr]
    return element_matches(node, test)


def attribute_name_matches(name: str, test: tuple) -> bool:
    kind = test[0]
    if kind == "name":
        return name == test[1]
    if kind == "any" or kind == "kind":
        return True
    if kind == "ns":
        return name.startswith(f"{{{test[1]}}}")
    if kind == "local":
        return etree.QName(name).localname == test[1]
    return False


# -- steps from many nodes (results in document order, no duplicates, when the input is "uniform")


def child1(node: object, tag: object) -> list:
    if type(node) is Doc:
        root = node.root  # type: ignore[union-attr]
        return [root] if (tag is ANY or root.tag == tag or _wild(root, tag)) else []
    if type(node) is Attr:
        return []
    if isinstance(node, Element):
        return list(node.iterchildren(tag))
    raise XPathError("XPTY0019: a path step from an atomic value")


def _wild(element: Element, tag: object) -> bool:
    if isinstance(tag, str) and "*" in tag:
        ns, _, local = tag[1:].partition("}")
        qname = etree.QName(element)
        return (ns == "*" or qname.namespace == ns) and (local == "*" or qname.localname == local)
    return False


def child(nodes: list, tag: object) -> list:
    if len(nodes) == 1:
        return child1(nodes[0], tag)
    out: list = []
    for node in nodes:
        if type(node) is Element or (isinstance(node, Element) and type(node) is not Attr):
            out.extend(node.iterchildren(tag))
        else:
            out.extend(child1(node, tag))
    return out


def attr1(node: object, test: tuple) -> list:
    if type(node) is Attr or type(node) is Doc:
        return []
    if not isinstance(node, Element):
        raise XPathError("XPTY0019: a path step from an atomic value")
    if test[0] == "name":
        value = node.get(test[1])
        return [] if value is None else [Attr(node, test[1], value)]
    return [Attr(node, name, value) for name, value in node.attrib.items() if attribute_name_matches(name, test)]


def attr(nodes: list, test: tuple) -> list:
    out: list = []
    for node in nodes:
        out.extend(attr1(node, test))
    return out


def parent(R: DocState, nodes: list, test: tuple) -> list:
    out: list = []
    last = None
    for node in nodes:
        if not (isinstance(node, (Element, Attr, Doc))):
            raise XPathError("XPTY0019: a path step from an atomic value")
        up = R.parent(node)
        if up is not None and up is not last and node_matches(up, test):
            out.append(up)
            last = up
    return out


def axis1(R: DocState, node: object, axis: str, test: tuple) -> list:
    """One node's axis, in axis order, filtered by the test."""
    if not isinstance(node, (Element, Attr, Doc)):
        raise XPathError("XPTY0019: a path step from an atomic value")
    if axis == "child":
        if test[0] == "kind" and test[1] not in ("element", "node"):
            return []
        if test == ("kind", "node"):
            raise ValueError("child::node() is refused at compile time")
        return child1(node, lxml_tag(test))
    if axis == "attribute":
        return attr1(node, test)
    if axis == "self":
        principal = "attribute" if type(node) is Attr else "element"
        return [node] if node_matches(node, test, principal) else []
    if axis == "parent":
        up = R.parent(node)
        return [up] if up is not None and node_matches(up, test) else []
    if axis in ("ancestor", "ancestor-or-self"):
        out = [node] if axis == "ancestor-or-self" and node_matches(node, test, "attribute" if type(node) is Attr else "element") else []
        up = R.parent(node)
        while up is not None:
            if node_matches(up, test):
                out.append(up)
            up = R.parent(up)
        return out
    if axis in ("descendant", "descendant-or-self") and test[0] == "name" and "*" not in test[1]:
        if type(node) is Doc and node is R.doc:
            return R.descendants(node.root, test[1], True)  # type: ignore[union-attr]
        if type(node) is not Doc and type(node) is not Attr and R.in_main(node):
            return R.descendants(node, test[1], axis == "descendant-or-self")  # type: ignore[arg-type]
    if type(node) is Doc:
        element = node.root  # type: ignore[union-attr]
        if axis in ("descendant", "descendant-or-self"):
            found = [x for x in element.iter(lxml_tag(test))] if test != ("kind", "node") else list(element.iter(ANY))
            return ([node] if axis == "descendant-or-self" and test == ("kind", "node") else []) + found
        return []
    if type(node) is Attr:
        if axis in ("descendant",):
            return []
        if axis == "descendant-or-self":
            return [node] if node_matches(node, test, "attribute") else []
        node = node.parent  # type: ignore[union-attr]
        if axis in ("following-sibling", "preceding-sibling"):
            return []
        if axis == "following":  # the attribute's element's descendants, then following
            inside = [x for x in node.iterdescendants(lxml_tag(test))]
            return inside + axis1(R, node, "following", test)
    tag = lxml_tag(test) if test != ("kind", "node") else ANY
    if axis == "descendant":
        return list(node.iterdescendants(tag))
    if axis == "descendant-or-self":
        return list(node.iter(tag))
    if axis == "following-sibling":
        return list(node.itersiblings(tag))
    if axis == "preceding-sibling":
        return list(node.itersiblings(tag, preceding=True))
    if axis == "preceding":
        out = []
        current = node
        while current is not None:
            for sibling in current.itersiblings(preceding=True):
                if isinstance(sibling.tag, str):
                    out.extend(reversed(list(sibling.iter(tag))))
            current = current.getparent()
        return out
    if axis == "following":
        out = []
        current = node
        while current is not None:
            for sibling in current.itersiblings():
                if isinstance(sibling.tag, str):
                    out.extend(sibling.iter(tag))
            current = current.getparent()
        return out
    raise ValueError(axis)


def docsort(R: DocState, nodes: list) -> list:
    """Document order without duplicates (nodes only; atomic values are an error in a union)."""
    if len(nodes) < 2:
        return nodes
    seen = {}
    for node in nodes:
        if not isinstance(node, (Element, Attr, Doc)):
            raise XPathError("XPTY0004: a path or union mixing atomic values and nodes")
        seen.setdefault(node, node)
    if len(seen) == 1:
        return list(seen.values())
    return sorted(seen.values(), key=R.order)


def union(R: DocState, left: list, right: list) -> list:
    for item in left:
        if not isinstance(item, (Element, Attr, Doc)):
            raise XPathError("XPTY0004: union of atomic values")
    for item in right:
        if not isinstance(item, (Element, Attr, Doc)):
            raise XPathError("XPTY0004: union of atomic values")
    if not left:
        return docsort(R, right)
    if not right:
        return docsort(R, left)
    return docsort(R, left + right)


def path_map(R: DocState, nodes: list, step) -> list:
    """E1/E2 for a general E2: E2 from each node of E1; nodes in document order, or atomic values in order."""
    out: list = []
    size = len(nodes)
    for position, node in enumerate(nodes, 1):
        if not isinstance(node, (Element, Attr, Doc)):
            raise XPathError("XPTY0019: a path step from an atomic value")
        out.extend(step(node, position, size))
    if not out:
        return out
    if all(isinstance(x, (Element, Attr, Doc)) for x in out):
        return docsort(R, out)
    if any(isinstance(x, (Element, Attr, Doc)) for x in out):
        raise XPTY0018()
    return out


def XPTY0018() -> XPathError:
    return XPathError("XPTY0018: the last step of a path returns both nodes and atomic values")


_static_indexes: dict = {}


def eq_index(R: DocState, nodes: list, tag: str, attribute: str, right: list) -> list:
    """`T[@A = V]` for children T of `nodes` when V holds strings only: a lookup in an index of the children by @A
    (the code lists' `enumeration[@value = $code]` scan thousands of entries per attribute otherwise)."""
    from gateway.validation.native.runtime import U, atomize, general1

    values = atomize(right)
    if not values:
        return []
    if not all(type(v) is U or type(v) is str for v in values):
        return [n for n in child(nodes, tag) if any(general1("=", attr1(n, ("name", attribute)), v) for v in values)]
    keys = {str(v) for v in values}
    out: list = []
    for node in nodes:
        if not isinstance(node, Element):
            out.extend(n for n in child1(node, tag) if n.get(attribute) in keys)
            continue
        cache = R.globals if R.in_main(node) else _static_indexes
        key = ("eq-index", node, tag, attribute)
        index = cache.get(key)
        if index is None:
            index = {}
            for number, element in enumerate(node.iterchildren(tag)):
                value = element.get(attribute)
                if value is not None:
                    index.setdefault(value, []).append((number, element))
            cache[key] = index
        if len(keys) == 1:
            out.extend(element for _, element in index.get(next(iter(keys)), ()))
        else:
            found = [pair for k in keys for pair in index.get(k, ())]
            out.extend(element for _, element in sorted(found, key=lambda pair: pair[0]))
    return out
