"""Group member operations, collected as :class:`MemberChanges` by id: the member list of a
group is never loaded into the document."""

from __future__ import annotations

from typing import Any

from scim2_models.path import CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator

from scim_api.errors import InvalidPath, InvalidValue
from scim_api.patch.common import _EngineState, _short, _Target


class _MemberOperations(_EngineState):
    """``add``/``replace``/``remove`` of ``members`` as changes by id."""

    def _members(self, op: str, target: _Target, value: Any, where: str) -> None:
        if target.sub is not None:
            raise InvalidPath(
                f'{where}: members are changed as a whole; use path "members" with '
                '[{"value": "<id>"}] or remove members[value eq "<id>"].'
            )
        if target.filter is not None:
            if op != "remove":
                raise InvalidPath(
                    f'{where}: "{op}" with a filtered members path is not supported; send '
                    '{"op": "add", "path": "members", "value": [{"value": "<id>"}]}.'
                )
            self.members.remove_ids(self._member_ids_from_filter(target.filter, where))
            return
        if op == "remove":
            if value is None:
                # RFC 7644 §3.5.2.2: remove of a multi-valued attribute without filter empties it.
                self.members.clear()
                return
            if not self.policy.remove_members_by_value:
                raise InvalidPath(
                    f"{where}: removing members by a value list is not defined by RFC 7644 "
                    '§3.5.2.2; use "path": "members[value eq \\"<id>\\"]" (join ids with or).'
                )
            self.members.remove_ids(self._member_ids(value, where))
            return
        ids = self._member_ids(value, where)
        if op == "add":
            self.members.add_ids(ids)
        else:
            self.members.replace_ids(ids)

    def _member_ids(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        ids: list[str] = []
        for position, item in enumerate(items):
            member_id = None
            if isinstance(item, dict):
                _, member_id = next(
                    (
                        (k, v)
                        for k, v in item.items()
                        if isinstance(k, str) and k.lower() == "value"
                    ),
                    (None, None),
                )
            if not isinstance(member_id, str) or not member_id.strip():
                raise InvalidValue(
                    f'{where}[{position}]: a member is {{"value": "<id>"}}; got {_short(item)}.'
                )
            if member_id not in ids:
                ids.append(member_id)
        return ids

    def _member_ids_from_filter(self, node: FilterNode, where: str) -> list[str]:
        """Member ids from ``value eq "a" or value eq "b"`` — the only selection evaluated
        without loading the members, which is the point of keeping them out of the document."""
        terms = (
            node.terms
            if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_
            else (node,)
        )
        ids: list[str] = []
        for term in terms:
            if not (
                isinstance(term, Comparison)
                and term.attr_path.attr.lower() == "value"
                and term.attr_path.sub_attr is None
                and term.attr_path.uri is None
                and term.op == CompareOperator.eq
                and isinstance(term.value, str)
            ):
                raise InvalidPath(
                    f"{where}: members can only be selected by id, as "
                    'members[value eq "<id>"] or members[value eq "a" or value eq "b"].'
                )
            if term.value not in ids:
                ids.append(term.value)
        return ids
