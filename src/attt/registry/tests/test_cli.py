import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from attt.core.testing import make_user
from attt.registry.models import InformationSystem
from attt.registry.tests.factories import make_system


def _run(*args) -> None:
    call_command("registry", *args, skip_checks=True)


def test_export_and_import_round_trip(tree, tmp_path, capsys):
    make_system(tree.dept_a, code="a", name="Hệ thống A")
    make_system(tree.dept_b, code="b", name="Hệ thống B")
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"systems.{suffix}"
        _run("export", str(path))
        assert "2 systems written" in capsys.readouterr().out
        _run("import", str(path), "--dry-run")
        assert "2 unchanged" in capsys.readouterr().out
    _run("export", str(tmp_path / "a.csv"), "--organization", "tinh-a")
    assert "1 systems written" in capsys.readouterr().out


def test_import_as_a_user_and_bad_rows(tree, tmp_path, capsys):
    make_user(tree.dept_a, "system_owner", username="chu-quan")
    path = tmp_path / "in.csv"
    path.write_text("owner,code,name\nso-a,a,A\nso-b,b,B\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        _run("import", str(path), "--user", "chu-quan")
    assert caught.value.returncode == 2
    assert "row 3, column owner" in capsys.readouterr().err
    assert not InformationSystem.objects.exists()
    path.write_text("owner,code,name\nso-a,a,A\n", encoding="utf-8")
    _run("import", str(path), "--user", "chu-quan")
    assert "1 were created" in capsys.readouterr().out
    assert InformationSystem.objects.get().organization == tree.dept_a


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["import", "/nonexistent/file.csv"], "does not exist"),
        (["export", "/tmp/systems.ods"], "must end in .csv or .xlsx"),
        (["export", "/nonexistent/dir/s.csv"], "does not exist"),
        (["import", "FILE", "--user", "nobody"], "no active user"),
        (["export", "out.csv", "--organization", "nowhere"], "no organisation"),
        (["import", "EMPTY"], "empty"),
        (["import", "FILE", "--user", "leader"], "may not import"),
    ],
)
def test_bad_input_exits_2_with_a_sentence(tree, tmp_path, args, sentence):
    make_user(tree.root, "leader", username="leader")
    (tmp_path / "ok.csv").write_text("owner,code,name\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_bytes(b"")
    args = [
        str(tmp_path / "ok.csv") if a == "FILE" else str(tmp_path / "empty.csv") if a == "EMPTY" else a for a in args
    ]
    args = [str(tmp_path / a) if a == "out.csv" else a for a in args]
    with pytest.raises(CommandError) as caught:
        _run(*args)
    assert caught.value.returncode == 2
    assert sentence in str(caught.value)
