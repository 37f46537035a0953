"""The org chart as data: `kamflow import employees` and `kamflow user add|edit|deactivate|list`, one set of
checks, audited; a bad file names every bad line and writes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import kamflow as package
from kamflow import org
from kamflow.demo_data import EMPLOYEES
from kamflow.models import Employee
from kamflow.people.directory import JOB_ROLES
from kamflow.settings import Settings
from tests.unit.people.conftest import answer, events, kamflow

SAMPLE = Path(package.__file__).parent / "demo_csv" / "employees.csv"
HEADER = "login,name,position,department,superior,roles,active,language\n"


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "employees.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def chart(session: Session) -> dict[str, tuple[str | None, str, list[str], bool, str | None]]:
    session.expire_all()
    return {
        p.login: (p.manager.login if p.manager else None, p.role, p.roles, p.active, p.language)
        for p in session.scalars(select(Employee))
    }


def test_every_job_role_of_the_demo_company_is_one_the_import_knows() -> None:
    assert {role for *_person, role, _manager in EMPLOYEES} == set(JOB_ROLES)


def test_the_sample_file_matches_the_demo_company_and_changes_nothing_but_languages(
    demo: Settings, session: Session
) -> None:
    before = chart(session)
    code, result = answer("import", "employees", str(SAMPLE))
    assert code == 0 and (result["added"], result["updated"]) == (0, 4)
    after = chart(session)
    assert {login for login in after if after[login] != before[login]} == {
        "kam.north1",
        "kam.south1",
        "director",
        "hr",
    }
    assert after["hr"] == ("director", "hr", ["admin"], True, "en")
    assert after["kam.south2"] == before["kam.south2"]  # not in the file: left as it is
    [event] = events(demo, "employees_imported")
    assert (event.actor, event.detail["added"], event.detail["updated"], event.detail["unchanged"]) == (
        "setup",
        0,
        4,
        8,
    )


def test_new_people_are_added_with_superiors_later_in_the_file_and_known_ones_updated(
    demo: Settings, session: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        'kam.east1,"Vidal, Nuria",Key Account Manager,Sales East,head.east,kam,,\n'
        'head.east,"Soler, Jordi",Head of Sales East,Sales East,commercial,department_head;admin,true,en\n'
        'kam.north2,"Moreno Castro, Pablo",Key Account Manager,Sales East,head.east,kam,false,\n',
    )
    code, result = answer("import", "employees", str(path))
    assert code == 0 and (result["added"], result["updated"], result["unchanged"]) == (2, 1, 0)
    people = chart(session)
    assert people["kam.east1"] == ("head.east", "kam", [], True, None)
    assert people["head.east"] == ("commercial", "department_head", ["admin"], True, "en")
    assert people["kam.north2"] == ("head.east", "kam", [], False, None)
    assert org.holder_of(session, role="department_head", near=org.employee(session, "kam.east1")).login == (
        "head.east"
    )


def test_a_bad_file_names_every_bad_line_and_field_and_imports_nothing(
    demo: Settings, session: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        'ok.one,"Uno, Ana",Clerk,Sales North,head.north,kam,true,\n'  # line 2: good
        'bad.role,"Dos, Ana",Clerk,Sales North,head.north,cashier,true,\n'  # 3: unknown job role
        'bad.extra,"Tres, Ana",Clerk,Sales North,head.north,kam;superuser,true,\n'  # 4: unknown extra role
        'admin.first,"Cuatro, Ana",Clerk,Sales North,head.north,admin,true,\n'  # 5: admin is not a job role
        'no.boss,"Cinco, Ana",Clerk,Sales North,nobody,kam,true,\n'  # 6: unknown superior
        'ok.one,"Seis, Ana",Clerk,Sales North,head.north,kam,true,\n'  # 7: login repeats line 2
        'Bad Login,"Siete, Ana",Clerk,Sales North,head.north,kam,true,\n'  # 8: login's form
        'circle.a,"Ocho, Ana",Clerk,Sales North,circle.b,kam,true,\n'  # 9: a → b → a
        'circle.b,"Nueve, Ana",Clerk,Sales North,circle.a,kam,true,\n'  # 10: b → a → b
        'director,"Martínez Ruiz, Carmen",Company Director,Management,kam.north1,director,true,\n'  # 11: circle
        'no.lang,"Diez, Ana",Clerk,Sales North,head.north,kam,maybe,fr\n'  # 12: active, language
        "no.name,,Clerk,Sales North,head.north,,true,\n",  # 13: name, roles
    )
    before = chart(session)
    done = kamflow("import", "employees", str(path))
    assert done.exit_code == 2
    problems = {(line, field) for line, field in _problems(path)}
    assert problems == {
        (3, "roles"),
        (4, "roles"),
        (5, "roles"),
        (6, "superior"),
        (7, "login"),
        (8, "login"),
        (9, "superior"),
        (10, "superior"),
        (11, "superior"),
        (12, "active"),
        (12, "language"),
        (13, "name"),
        (13, "roles"),
    }
    assert "11 bad line(s), nothing imported" in done.stderr
    assert (
        "line 11, superior: a circle in the reporting line: director → kam.north1 → head.north → commercial → "
        "director" in done.stderr
    )
    assert "'cashier' is not a job role" in done.stderr and "'superuser' is not an extra role" in done.stderr
    assert chart(session) == before and not events(demo, "employees_imported")


def _problems(path: Path) -> list[tuple[int, str]]:
    code, result = answer("import", "employees", str(path))
    assert code == 2
    return [(p["line"], p["field"]) for p in result["problems"]]


def test_a_file_without_the_required_columns_is_refused(demo: Settings, tmp_path: Path) -> None:
    path = tmp_path / "employees.csv"
    path.write_text("login,name,boss\nx,y,z\n")
    assert sorted(_problems(path)) == [(1, "boss"), (1, "department"), (1, "position"), (1, "roles")]


def test_user_add_edit_deactivate_and_list(demo: Settings, session: Session) -> None:
    code, person = answer(
        "user", "add", "kam.north3", "--name", "Gil, Rosa", "--position", "Key Account Manager",
        "--department", "Sales North", "--roles", "kam", "--superior", "head.north", "--language", "es",
    )  # fmt: skip
    assert code == 0 and person["superior"] == "head.north" and person["roles"] == ["kam"]
    assert (
        answer(
            "user", "add", "kam.north3", "--name", "X", "--position", "X", "--department", "X", "--roles", "kam"
        )[0]
        == 2
    )  # taken

    code, person = answer("user", "edit", "kam.north3", "--roles", "kam;admin", "--superior", "", "--language", "")
    assert code == 0 and (person["roles"], person["superior"], person["language"]) == (
        ["kam", "admin"],
        None,
        None,
    )
    code, error = answer("user", "edit", "kam.north3", "--roles", "admin")
    assert code == 2 and error["field"] == "roles"
    code, error = answer("user", "edit", "head.north", "--superior", "kam.north1")
    assert code == 2 and "circle" in error["message"]
    assert answer("user", "edit", "nobody", "--name", "X")[0] == 4

    code, person = answer("user", "deactivate", "kam.north3")
    assert code == 0 and person["active"] is False
    code, rows = answer("user", "list")
    assert "kam.north3" not in {r["login"] for r in rows} and len(rows) == len(EMPLOYEES)
    code, rows = answer("user", "list", "--all")
    assert {r["login"]: r["active"] for r in rows}["kam.north3"] is False

    added, *changed = [e for e in events(demo, "employee_added") + events(demo, "employee_changed")]
    assert added.detail["after"]["login"] == "kam.north3"
    assert [e.detail for e in changed] == [
        {"superior": ["head.north", None], "roles": [["kam"], ["kam", "admin"]], "language": ["es", None]},
        {"active": [True, False]},
    ]
    assert session.scalar(select(func.count()).select_from(Employee).where(Employee.login == "kam.north3")) == 1
