"""Graph validation as ComfyUI's ``execution.validate_prompt`` does it (specs/comfyui-api.md §4).

1. every node needs a known ``class_type`` (``missing_node_type``);
2. output nodes (``output_node``) are the roots; none → ``prompt_no_outputs``;
3. from each output, reachable nodes are validated recursively, once each;
4. per input: ``required_input_missing``, ``bad_linked_input``, ``return_type_mismatch`` (type sets
   separated by commas must intersect, ``*`` matches all), coercion (``invalid_input_type``),
   ``value_smaller_than_min`` / ``value_bigger_than_max`` (step not checked), ``value_not_in_list``;
5. inputs a node validates itself skip range/COMBO checks (``LoadImage.image``: the file must exist,
   else ``custom_validation_failed``);
6. a dependency cycle → ``dependency_cycle``;
7. no valid output → ``prompt_outputs_failed_validation``, with ``node_errors`` per failing node.

Returns ``(ok, error, good_outputs, node_errors)`` like ComfyUI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .nodes import NODES


def _err(kind: str, message: str, details: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _is_link(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int)


def _types_match(received: str, wanted: str) -> bool:
    if "*" in (received, wanted):
        return True
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in wanted.split(",")})


def _combo(spec: Any, folders: dict[str, list[str]]) -> list[str] | None:
    if isinstance(spec, tuple):
        return folders.get(spec[0], [])
    if isinstance(spec, list) and spec and isinstance(spec[0], list):
        return list(spec[0])
    return None


def validate_prompt(prompt: Any, folders: dict[str, list[str]],
                    file_exists: Callable[[str], bool]) -> tuple[bool, dict[str, Any] | None, list[str], dict[str, Any]]:
    if not isinstance(prompt, dict):
        return False, _err("invalid_prompt", "Invalid prompt", "the prompt is not an object"), [], {}
    for node_id, node in prompt.items():
        cls = node.get("class_type") if isinstance(node, dict) else None
        title = ((node.get("_meta") or {}).get("title") if isinstance(node, dict) else None) or node_id
        if cls is None:
            return False, _err("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                               f"Node ID '#{node_id}'"), [], {}
        if cls not in NODES:
            return False, _err("missing_node_type", f"Node '{title}' not found. The custom node may not be installed.",
                               f"Node ID '#{node_id}'", node_id=node_id, class_type=cls, node_title=title), [], {}
    outputs = [k for k, v in prompt.items() if NODES[v["class_type"]]["output_node"]]
    if not outputs:
        return False, _err("prompt_no_outputs", "Prompt has no outputs", ""), [], {}

    results: dict[str, tuple[bool, list[dict[str, Any]]]] = {}
    visiting: set[str] = set()

    def check(node_id: str) -> bool:
        if node_id in results:
            return results[node_id][0]
        if node_id in visiting:
            results[node_id] = (False, [_err("dependency_cycle", "Dependency cycle detected", f"node {node_id}")])
            return False
        visiting.add(node_id)
        node = prompt[node_id]
        cls = node["class_type"]
        spec = NODES[cls]
        inputs = node.get("inputs") or {}
        errors: list[dict[str, Any]] = []
        valid = True
        declared = {**spec["input"]["required"], **spec["input"]["optional"]}
        for name in spec["input"]["required"]:
            if name not in inputs:
                errors.append(_err("required_input_missing", "Required input is missing", name, input_name=name))
        for name, value in inputs.items():
            if name not in declared:
                continue  # undeclared inputs are ignored
            info = declared[name]
            want = info[0] if isinstance(info, list) else None
            opts = info[1] if isinstance(info, list) and len(info) > 1 and isinstance(info[1], dict) else {}
            if isinstance(value, list):
                if len(value) != 2:
                    errors.append(_err("bad_linked_input", "Bad linked input, must be a length-2 list of "
                                       "[node_id, slot_index]", name, input_name=name, received_value=value))
                    continue
                if _is_link(value):
                    src = value[0]
                    if src not in prompt:
                        errors.append(_err("exception_during_inner_validation", "Exception when validating inner node",
                                           f"'{src}'", input_name=name))
                        continue
                    returns = NODES[prompt[src]["class_type"]]["output"]
                    if not 0 <= value[1] < len(returns):
                        errors.append(_err("exception_during_inner_validation", "Exception when validating inner node",
                                           "tuple index out of range", input_name=name))
                        continue
                    received = returns[value[1]]
                    wanted = "COMBO" if isinstance(want, list) or isinstance(info, tuple) else str(want)
                    if not _types_match(received, wanted):
                        errors.append(_err("return_type_mismatch", "Return type mismatch between linked nodes",
                                           f"{name}, received_type({received}) mismatch input_type({wanted})",
                                           input_name=name, received_type=received))
                        continue
                    if not check(src):
                        valid = False
                    continue
            if name in spec.get("validate_inputs", []):
                if not isinstance(value, str) or not file_exists(value):
                    errors.append(_err("custom_validation_failed", "Custom validation failed for node",
                                       f"{name} - Invalid image file: {value}", input_name=name))
                continue
            combo = _combo(info, {k: v for k, v in folders.items()})
            if combo is not None:
                if isinstance(value, list) or value not in combo:
                    shown = combo if len(combo) <= 20 else combo[:20] + ["..."]
                    errors.append(_err("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {shown}",
                                       input_name=name, received_value=value))
                continue
            try:
                if want == "INT":
                    value = int(value)
                elif want == "FLOAT":
                    value = float(value)
                elif want == "STRING":
                    value = str(value)
                elif want == "BOOLEAN":
                    value = bool(value)
            except (TypeError, ValueError) as e:
                errors.append(_err("invalid_input_type", f"Failed to convert an input value to a {want} value",
                                   f"{name}, {value}, {e}", input_name=name, received_value=value))
                continue
            if want in ("INT", "FLOAT"):
                if "min" in opts and value < opts["min"]:
                    errors.append(_err("value_smaller_than_min", f"Value {value} smaller than min of {opts['min']}",
                                       name, input_name=name, received_value=value))
                elif "max" in opts and value > opts["max"]:
                    errors.append(_err("value_bigger_than_max", f"Value {value} bigger than max of {opts['max']}",
                                       name, input_name=name, received_value=value))
        visiting.discard(node_id)
        ok = valid and not errors
        results[node_id] = (ok, errors)
        return ok

    good: list[str] = []
    failed_outputs: list[str] = []
    for out in outputs:
        (good if check(out) else failed_outputs).append(out)
    node_errors: dict[str, Any] = {}
    for node_id, (ok, errors) in results.items():
        if not ok and errors:
            node_errors[node_id] = {"errors": errors, "dependent_outputs": failed_outputs,
                                    "class_type": prompt[node_id]["class_type"]}
    if good:
        return True, None, good, node_errors
    details = "\n".join(f"{e['message']}: {e['details']}" for v in node_errors.values() for e in v["errors"])
    return False, _err("prompt_outputs_failed_validation", "Prompt outputs failed validation", details), [], node_errors
