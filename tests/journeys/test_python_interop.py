"""Python modules behave from M as they do from Python (`m run`, `m check`)."""
import textwrap

from mlang.cli import main


def run(tmp_path, source: str, capsys, command="run") -> tuple[int, str]:
    program = tmp_path / "program.m"
    program.write_text(textwrap.dedent(source))
    code = main([command, str(program)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_numpy_and_torch_values_print_and_compute(tmp_path, capsys):
    code, out = run(tmp_path, """\
        import python numpy as np
        import python torch
        print(np.array([1, 2, 3]))
        print(np.array([1, 2, 3]).sum())
        print(torch.tensor([0, 1, 2]))
        print(float(np.linalg.norm(np.ones(4))))
        """, capsys)
    assert code == 0, out
    assert out.splitlines() == ["[1 2 3]", "6", "tensor([0, 1, 2])", "2.0"]


def test_a_python_module_beside_the_program_is_found_as_python_finds_a_scripts_folder(tmp_path, capsys):
    (tmp_path / "helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    source = """\
        import python helpers
        print(helpers.twice(21))
        """
    assert run(tmp_path, source, capsys, "check")[0] == 0
    code, out = run(tmp_path, source, capsys)
    assert code == 0 and out.strip() == "42", out


def test_a_missing_module_is_still_a_check_error(tmp_path, capsys):
    code, out = run(tmp_path, "import python no_such_helpers\n", capsys, "check")
    assert code == 1 and "no Python module named 'no_such_helpers'" in out
