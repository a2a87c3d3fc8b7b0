"""The four-detail extractor and the three catalogs it reads, tested on the real catalog files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from triagebot.core.details import MAX_PROSE, SCAN_LIMIT, DetailExtractor
from triagebot.core.kb import (
    HypervisorCatalog,
    KnowledgeBase,
    OsCatalog,
    OsEntry,
    Release,
    ReleaseCatalog,
    parse_knowledge_base,
)
from triagebot.core.models import Detail
from triagebot.errors import KnowledgeBaseError

CATALOG = Path(__file__).resolve().parents[2] / "knowledge" / "catalog"


def _load(name: str) -> str:
    return (CATALOG / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def releases() -> list[Release]:
    return ReleaseCatalog.model_validate(yaml.safe_load(_load("releases.yaml"))).releases


@pytest.fixture(scope="module")
def extractor(releases: list[Release]) -> DetailExtractor:
    os_entries = OsCatalog.model_validate(yaml.safe_load(_load("os.yaml"))).os
    hypervisors = HypervisorCatalog.model_validate(yaml.safe_load(_load("hypervisors.yaml"))).hypervisors
    return DetailExtractor(releases, os_entries, hypervisors)


# --------------------------------------------------------------------------------------------------
# CloudStack version
# --------------------------------------------------------------------------------------------------

VERSION_CASES = [
    # plain and prefixed forms
    ("I'm running 4.4 and the UI will not load", "4.4"),
    ("ACS 4.18.1 management server fails to start", "4.18.1.0"),
    ("Upgraded to CloudStack 4.20 and the UI shows 503", "4.20"),
    ("Using v4.12 on a lab box", "4.12"),
    ("We are on 4.19.0.1 since last week", "4.19.0.1"),
    ("Apache CloudStack 4.0.0-incubating on an old box", "4.0.0-incubating"),
    ("CloudStack 4.9.0 with XenServer 6.5", "4.9.0"),
    ("ACS4.18 で KVM を使っています", "4.18"),
    # package strings and log lines
    ("rpm -qa shows cloudstack-management-4.19.0.1-1.el8.x86_64", "4.19.0.1"),
    ("cloudstack-agent-4.15.1.0-1.el8.x86_64 is installed on the host", "4.15.1.0"),
    ("ii  cloudstack-management   4.15.1.0~focal   all   CloudStack server", "4.15.1.0"),
    ("cloudstack-management 4.16.1.0-1.el8 from the repo", "4.16.1.0"),
    ("agent.log says: Implementation Version is 4.18.1.0", "4.18.1.0"),
    ("/usr/share/cloudstack-management/lib/cloudstack-4.18.0.0.jar is missing", "4.18.0.0"),
    ("deb https://download.cloudstack.org/ubuntu jammy 4.18", "4.18"),
    # Japanese
    ("CloudStack 4.11を使用しています", "4.11"),
    ("バージョンは4.19です", "4.19"),
    ("CloudStack４．１９をＵｂｕｎｔｕ２２．０４で動かしています", "4.19"),
    # upgrades report the newer release
    ("upgrade from ACS 4.19.1.1 to 4.20.1.0 failed", "4.20.1.0"),
    ("4.18から4.19へアップグレードしたら動きません", "4.19"),
    ("Currently 4.17.2.0. Planning to upgrade to 4.19 next month.", "4.19"),
    # several mentions without an upgrade: the first, and a pinned release refines a series
    ("We are on 4.18 and would like to know if 4.19 fixes this", "4.18"),
    ("CloudStack 4.18 ... later the log shows cloudstack-management-4.18.1.0-1.el8", "4.18.1.0"),
    ("tried 4.19 earlier; this box runs ACS 4.20.1.0", "4.20.1.0"),
    # traps: other products' numbers
    ("MySQL 8.0.36 and mysql 5.7, Java 11, openjdk 17.0.2, java 1.8.0", None),
    ("libvirt 4.5.0 on CentOS 7.4", None),
    ("kernel 4.18.0-348.el8.x86_64 on the host", None),
    ("uname -r gives 4.18.0-553.el8_10.x86_64", None),
    ("qemu-kvm-4.2.0-48.module_el8 is installed", None),
    ("NFSv4.1 mount with vers=4.2 on CloudStack 4.17", "4.17"),
    ("my bash 4.4 script for cloudstack 4.16", "4.16"),
    ("ESX 4.1 on cloudstack 4.2", "4.2"),
    ("CloudStack 4.15 and the log4j 2 vulnerability", "4.15"),
    ("section 4.4 of the install guide says to disable SELinux", None),
    ("Ubuntu 4.4 is not a thing", None),
    # traps: template names and URLs
    ("downloaded systemvmtemplate-4.18.1-kvm.qcow2.bz2 manually", None),
    ("registered systemvm64template-4.6.0 as the template", None),
    ("http://download.cloudstack.org/systemvm/4.18/ is slow", None),
    # traps: addresses, dates, units
    ("management server at 10.4.18.1 is unreachable", None),
    ("nc -zv 10.0.4.19 8250 times out", None),
    ("ACS 4.18 ... IP 192.168.4.19 and netmask 255.255.4.0", "4.18"),
    ("date 2024.4.18; we run CloudStack 4.16", "4.16"),
    ("the VM has 4.5 GB of RAM on 4.19", "4.19"),
    # unknown or unreleased versions
    ("CloudStack 4.30 is great", None),
    ("tried 4.99 beta", None),
    ("ACS 4.23 from the main branch", None),
    ("CloudStack 4.18.5.0 (a patch that never shipped)", "4.18"),
]


@pytest.mark.parametrize(("text", "expected"), VERSION_CASES)
def test_version(extractor: DetailExtractor, text: str, expected: str | None) -> None:
    report = extractor.extract("", text)
    assert report.version == expected
    assert report.series == (".".join(expected.split(".")[:2]) if expected else None)


def test_version_in_the_subject(extractor: DetailExtractor) -> None:
    assert extractor.extract("[ACS 4.19] host add fails", "see below").version == "4.19"


def test_explicit_version_far_down_a_long_paste(extractor: DetailExtractor) -> None:
    filler = "2024-01-01 10:00:00,000 DEBUG [c.c.a.Agent] nothing to see\n" * (SCAN_LIMIT // 50)
    body = "Here is my log.\n" + filler + "Implementation Version is 4.18.1.0\n"
    assert extractor.extract("", body).version == "4.18.1.0"
    bare = "Here is my log.\n" + filler + "we run 4.19 here\n"
    assert extractor.extract("", bare).version == "4.19"


def _log(size: int) -> str:
    """A management-server log of about `size` characters, naming other products and versions."""
    lines = (
        "2024-05-01 10:11:12,345 DEBUG [c.c.a.t.Request] (AgentManager-Handler-3:null) Seq 1-42: "
        "Processing: { Ans: , MgmtId: 90520739175, via: 1, Ver: v1, Flags: 10 }\n",
        "2024-05-01 10:11:13,001 WARN  [c.c.h.x.r.CitrixResourceBase] (DirectAgent-7:ctx-1) "
        "XenServer 7.1 host check failed on xen-pool-2\n",
        "    at com.cloud.hypervisor.xenserver.resource.CitrixResourceBase.execute(CitrixResourceBase.java:1234)\n",
        "2024-05-01 10:11:14,210 INFO  [c.c.u.s.Script] (main) Executing: /bin/bash -c uname -r: "
        "4.15.0-213-generic ubuntu 18.04\n",
    )
    out: list[str] = []
    total = 0
    while total < size:
        line = lines[len(out) % len(lines)]
        out.append(line)
        total += len(line)
    return "".join(out)


@pytest.mark.parametrize("size", [31_000, 200_000])
@pytest.mark.parametrize("where", ["after", "between"])
def test_details_in_prose_after_a_long_log_are_found(
    extractor: DetailExtractor, size: int, where: str
) -> None:
    prose = "We run CloudStack 4.18.1.0 on Rocky Linux 8 with KVM and the host will not connect."
    if where == "after":
        body = "Here is the log:\n" + _log(size) + "\n" + prose + "\nAny idea?"
    else:
        body = "Here is the log:\n" + _log(size // 2) + "\n" + prose + "\n" + _log(size // 2)
    assert len(body) > SCAN_LIMIT
    report = extractor.extract("Host stays disconnected", body)
    assert (report.version, report.os, report.hypervisor) == ("4.18.1.0", "Rocky Linux 8", "KVM")


def test_names_inside_a_long_log_past_the_scan_are_not_details(extractor: DetailExtractor) -> None:
    # beyond the first SCAN_LIMIT characters only prose counts: the XenServer and Ubuntu of the log do not
    body = "Adding a host fails.\n" + "x " * (SCAN_LIMIT // 2) + "\n" + _log(60_000)
    report = extractor.extract("", body)
    assert (report.os, report.hypervisor) == (None, None)


def test_prose_after_the_scan_is_read_only_up_to_its_limit(extractor: DetailExtractor) -> None:
    filler = "2024-01-01 10:00:00,000 DEBUG [c.c.a.Agent] nothing to see\n" * (SCAN_LIMIT // 50)
    chatter = "and then we looked at it again for a while\n" * (MAX_PROSE // 40)
    body = filler + chatter + "the hosts run XCP-ng 8.2\n"
    assert extractor.extract("", body).hypervisor is None
    assert extractor.extract("", filler + "the hosts run XCP-ng 8.2\n" + chatter).hypervisor == "XCP-ng 8.2"


# --------------------------------------------------------------------------------------------------
# Operating system
# --------------------------------------------------------------------------------------------------

OS_CASES = [
    # forms
    ("CentOS Linux release 7.9.2009 (Core)", "CentOS 7.9"),
    ("centos7 box with a single NIC", "CentOS 7"),
    ("Ubuntu 22.04.5 LTS", "Ubuntu 22.04"),
    ("OL9 server, fresh install", "Oracle Linux 9"),
    ("oracle8 with cloudstack", "Oracle Linux 8"),
    ("Almalinux 9.3 minimal", "AlmaLinux 9.3"),
    ("Rocky Linux release 9.3 (Blue Onyx)", "Rocky Linux 9.3"),
    ("Red Hat Enterprise Linux release 8.6 (Ootpa)", "RHEL 8.6"),
    ("running on rhel9 with ACS 4.19", "RHEL 9"),
    ("Debian GNU/Linux 12 (bookworm)", "Debian 12"),
    ("openSUSE Leap 15.5 on the management box", "openSUSE Leap 15.5"),
    ("SLES 15 SP4", "SLES 15"),
    ("CentOS Stream 9", "CentOS Stream 9"),
    ("Ubuntu Jammy on the management node", "Ubuntu 22.04"),
    ("We installed it on Rocky Linux, no luck", "Rocky Linux"),
    ("Ubuntu 4.4", "Ubuntu"),
    # Japanese
    ("管理サーバはCentOS 7です", "CentOS 7"),
    ("OSはUbuntu 22.04です", "Ubuntu 22.04"),
    # the management server wins over hosts; hosts count when nothing else is said
    ("Management server: Ubuntu 22.04, KVM hosts: Rocky Linux 9", "Ubuntu 22.04"),
    ("KVM hosts run Rocky Linux 9.2 and the management server is Ubuntu 22.04", "Ubuntu 22.04"),
    ("KVM host ubuntu 24.04", "Ubuntu 24.04"),
    ("Host OS: CentOS 7.9, guest: Ubuntu 20.04", "CentOS 7.9"),
    ("Debian 12 management server with 4.20.1.0", "Debian 12"),
    ("the management server is an Ubuntu 22.04 VM in VirtualBox", "Ubuntu 22.04"),
    ("running CloudStack on a VirtualBox VM with Ubuntu 22.04", "Ubuntu 22.04"),
    # guest OSes are never the answer
    ("I'm deploying an Ubuntu 22.04 VM on my CloudStack (management on Rocky Linux 9)", "Rocky Linux 9"),
    ("The CentOS 7 template fails to download", None),
    ("I created an instance from the CentOS 7.5 ISO on CloudStack 4.19", None),
    ("Installed CloudStack on Ubuntu 22.04; trying to deploy a CentOS 7.9 instance", "Ubuntu 22.04"),
    ("ゲストOSはCentOS 7、管理サーバはUbuntu 22.04", "Ubuntu 22.04"),
    ("CentOS 7のテンプレートが登録できません", None),
    # nor the system VM's Debian
    ("SSVM (Debian 11) cannot reach the gateway", None),
    ("the system VM runs Debian 12 but the console proxy is down", None),
    # package suffixes, paths and names are not OS statements
    ("packages are el8 builds", None),
    ("cloudstack-management-4.19.0.1-1.el8.x86_64", None),
    ("cat /etc/centos-release", None),
    ("root@ubuntu:~# systemctl status cloudstack-management", None),
    ("downloaded ubuntu-22.04-live-server-amd64.iso and installed cloudstack 4.19", None),
    ("this tool is out of control", None),
]


@pytest.mark.parametrize(("text", "expected"), OS_CASES)
def test_os(extractor: DetailExtractor, text: str, expected: str | None) -> None:
    assert extractor.extract("", text).os == expected


# --------------------------------------------------------------------------------------------------
# Hypervisor
# --------------------------------------------------------------------------------------------------

HYPERVISOR_CASES = [
    ("ACS 4.18.1 on Rocky Linux 9 with KVM hosts", "KVM", "kvm"),
    ("XenServer 7.1 cluster", "XenServer 7.1", "xenserver"),
    ("XCP-ng 8.2 pool", "XCP-ng 8.2", "xenserver"),
    ("XCPNG8.1", "XCP-ng 8.1", "xenserver"),
    ("Citrix Hypervisor 8.2 pool", "Citrix Hypervisor 8.2", "xenserver"),
    ("ゼンサーバー 7.1 を使っています", "XenServer 7.1", "xenserver"),
    ("VMware vSphere 7.0 with vCenter", "VMware vSphere 7.0", "vmware"),
    ("ESXi 6.7U3 hosts", "VMware ESXi 6.7", "vmware"),
    ("vCenter 6.7 and ESXI 6.7", "VMware vCenter 6.7", "vmware"),
    ("Hyper-V 2012 R2", "Hyper-V 2012 R2", "hyperv"),
    ("Windows Server 2012 R2 with Hyper-V role", "Hyper-V 2012 R2", "hyperv"),
    ("Oracle VM 3.4 cluster", "Oracle VM 3.4", "ovm3"),
    ("OVM3 with ACS 4.11", "OVM3", "ovm3"),
    ("LXC hosts on Ubuntu", "LXC", "lxc"),
    ("Baremetal hypervisor zone with PXE", "BareMetal", "baremetal"),
    ("CloudStack simulator on my laptop", "Simulator", "simulator"),
    ("ハイパーバイザはKVMです", "KVM", "kvm"),
    ("ハイパーバイザーとしてKVMを使用", "KVM", "kvm"),
    ("hypervisor: XenServer 8.2", "XenServer 8.2", "xenserver"),
    # signals other than the name
    ("cloud-install-sys-tmplt -m /mnt/secondary -u http://x/y.qcow2.bz2 -h kvm", "KVM", "kvm"),
    ("hypervisor.type=kvm in agent.properties", "KVM", "kvm"),
    ("com.cloud.hypervisor.kvm.resource.LibvirtComputingResource", "KVM", "kvm"),
    # libvirt or the agent alone do not say which hypervisor the poster runs
    ("cloudstack-agent and libvirt on the host", None, None),
    ("virsh list shows the system VMs", None, None),
    # containers, Docker images and the management server's own machine are not the cloud's hypervisor
    ("Trouble installing CloudStack in an LXC container", None, None),
    ("docker run -d -p 8080:8080 cloudstack/simulator", None, None),
    ("the simulator docker image does not start", None, None),
    ("expected: the Simulator UI is accessible", None, None),
    ("hypervisor: simulator", "Simulator", "simulator"),
    ("MGMT server on VMware, CentOS 7", None, None),
    ("VMware hosts in one cluster", "VMware", "vmware"),
    ("downloaded systemvmtemplate-4.20.0-x86_64-xen.vhd.bz2", "XenServer", "xenserver"),
    (
        "registered systemvmtemplate-4.18.1-kvm.qcow2.bz2 on our XenServer 7.1 pool",
        "XenServer 7.1",
        "xenserver",
    ),
    # the lab's outer layer is not the cloud's hypervisor
    ("CloudStack in VirtualBox with nested KVM", "KVM", "kvm"),
    ("I followed the quick install guide on Oracle VM VirtualBox with nested KVM", "KVM", "kvm"),
    ("We use VMware Workstation for the lab; hosts are KVM", "KVM", "kvm"),
    ("ESXi as the outer layer, nested KVM hosts inside", "KVM", "kvm"),
    # a number after the name that is an address, not a version
    ("XenServer 10.1.1.5 host", "XenServer", "xenserver"),
    # words that are not hypervisor names
    ("which hypervisor should I use?", None, None),
    ("ハイパーバイザの選択について", None, None),
    ("bare metal server running Ubuntu 22.04", None, None),
    ("Ubuntu xenial on the management server", None, None),
]


@pytest.mark.parametrize(("text", "expected", "kind"), HYPERVISOR_CASES)
def test_hypervisor(extractor: DetailExtractor, text: str, expected: str | None, kind: str | None) -> None:
    report = extractor.extract("", text)
    assert (report.hypervisor, report.hypervisor_kind) == (expected, kind)


# --------------------------------------------------------------------------------------------------
# Specifics
# --------------------------------------------------------------------------------------------------

SPECIFICS_CASES = [
    # vague
    ("it doesn't work, please help", False),
    ("install failed", False),
    ("インストールできません。助けてください", False),
    ("any tips for installing cloudstack?", False),
    ("How do I install CloudStack?", False),
    ("I tried installing CloudStack but it doesn't work, please help", False),
    ("I have an error: please help me fix it", False),
    ("Can anyone help me with the template?", False),
    ("# Installation notes", False),
    ("CentOS 7のテンプレートが登録できません", False),
    # errors, logs and output
    ("2024-01-02 10:11:12,123 ERROR [c.c.r.ResourceManagerImpl] (qtp-1:ctx) Unable to add the host", True),
    ("Error: CloudStack failed to detect your operating system. Exiting.", True),
    ("The UI shows HTTP ERROR 503 after the setup", True),
    ("I get 'Unable to add the host: Cannot find the server resources'", True),
    ("setup-databases says SELinux is set to enforcing. There are two options:", True),
    ("The UI shows the login page and nothing else", False),
    ("setup-databases prints ERROR 1045 (28000): Access denied for user 'root'@'localhost'", True),
    ("Caused by: java.net.ConnectException: Connection refused", True),
    ("com.cloud.utils.exception.CloudRuntimeException thrown while adding the host", True),
    ("Checking hostname ... [Failed]", True),
    ("$ sudo cloudstack-setup-management", True),
    ("```\nsome pasted output\n```", True),
    ("mount.nfs: access denied by server while mounting 10.1.1.2:/export/primary", True),
    ("エラー：Unable to add the host が出ます", True),
    ("SELinux is set to enforcing と出ます。どうすればいいですか", True),
    ("「ホストの追加に失敗しました」と表示されます", True),
    ("エラーが出ます。どうすればいいですか", False),
    # what was done and what happened
    ("I ran cloudstack-setup-databases and it fails with Access denied", True),
    ("When I add the KVM host from the UI it fails", True),
    ("I tried to install it on my server and it failed", False),
    ("After adding the host it stays in Alert state", True),
    ("cloudstack-setup-databasesを実行したところ、エラーになりました", True),
    ("ホストを追加したらAlert状態のままです", True),
    ("Set SELINUX=permissive in /etc/selinux/config but setup still fails", True),
    # precise questions
    ("which Java does 4.19 need", True),
    ("which ports must be open for the KVM agent", True),
    ("What are the firewall ports needed for 4.19?", True),
    ("4.19でJavaのバージョンは何が必要ですか？", True),
    ("KVMエージェント用に開けるポートはどれですか", True),
    ("Does 4.19 support Ubuntu 24.04?", True),
]


@pytest.mark.parametrize(("text", "expected"), SPECIFICS_CASES)
def test_specifics(extractor: DetailExtractor, text: str, expected: bool) -> None:
    assert extractor.extract("", text).specifics is expected


# --------------------------------------------------------------------------------------------------
# Whole questions
# --------------------------------------------------------------------------------------------------


def test_full_english_question(extractor: DetailExtractor) -> None:
    body = (
        "Hi all, I am trying to install Apache CloudStack 4.19.1.1 on Rocky Linux 9.3. The management server "
        "starts, but when I add the KVM host (also Rocky 9) it fails. I also deployed a CentOS 7 template "
        "earlier. MySQL is 8.0.36 and Java 11. Any idea what I am missing?"
    )
    report = extractor.extract("Host add fails", body)
    assert (report.version, report.series, report.os) == ("4.19.1.1", "4.19", "Rocky Linux 9.3")
    assert (report.hypervisor, report.hypervisor_kind, report.specifics) == ("KVM", "kvm", True)
    assert report.missing == ()


def test_full_japanese_question(extractor: DetailExtractor) -> None:
    body = (
        "お世話になっております。CloudStack 4.18.1.0 を Ubuntu 22.04 の管理サーバにインストールしました。"
        "KVMホストを追加しようとするとエラーになり、追加できません。"
    )
    report = extractor.extract("ホスト追加", body)
    assert (report.version, report.os, report.hypervisor) == ("4.18.1.0", "Ubuntu 22.04", "KVM")
    assert report.specifics is True


def test_letters_that_grow_when_lower_cased_keep_offsets(extractor: DetailExtractor) -> None:
    report = extractor.extract("İstanbul office", "İİİ CloudStack 4.19 on Ubuntu 22.04 with KVM")
    assert (report.version, report.os, report.hypervisor) == ("4.19", "Ubuntu 22.04", "KVM")


def test_missing_details_are_listed_in_order(extractor: DetailExtractor) -> None:
    report = extractor.extract("help", "it doesn't work, please help")
    assert report.missing == (Detail.VERSION, Detail.OS, Detail.HYPERVISOR, Detail.SPECIFICS)


def test_from_kb_uses_the_catalogs(releases: list[Release]) -> None:
    kb = KnowledgeBase(
        tips=(),
        out_of_scope=(),
        releases=tuple(releases),
        os=tuple(OsCatalog.model_validate(yaml.safe_load(_load("os.yaml"))).os),
        hypervisors=tuple(
            HypervisorCatalog.model_validate(yaml.safe_load(_load("hypervisors.yaml"))).hypervisors
        ),
        digest="test",
    )
    report = DetailExtractor.from_kb(kb).extract("", "ACS 4.20 on Debian 12 with XCP-ng 8.2")
    assert (report.version, report.os, report.hypervisor) == ("4.20", "Debian 12", "XCP-ng 8.2")


def test_empty_catalogs_find_nothing() -> None:
    report = DetailExtractor([], [], []).extract("", "CloudStack 4.19 on Ubuntu 22.04 with KVM")
    assert (report.version, report.os, report.hypervisor) == (None, None, None)


def test_an_alias_shared_by_two_entries_is_refused() -> None:
    first = OsEntry(id="one", name="One", family="el", aliases=["same"])
    second = OsEntry(id="two", name="Two", family="el", aliases=["Same"])
    with pytest.raises(KnowledgeBaseError, match="'Same' belongs to two entries"):
        DetailExtractor([], [first, second], [])


@pytest.mark.parametrize(
    "paste",
    [
        "4." * 1_000_000,
        " " * 2_000_000,
        "ubuntu " * 300_000,
        "'" * 2_000_000,
        "4.19 " * 400_000,
        "kvm host " * 250_000,
        "エラーになりました。" * 200_000,
        "$ " * 1_000_000,
        ("\tat " + "a" * 300 + "\n") * 6_000,
        "2024-05-01 10:11:12,345 DEBUG [c.c.a.t.Request] Seq 1-4.19: 10.4.18.1 ubuntu 22.04 kvm\n" * 25_000,
    ],
    ids=["digits", "spaces", "os-names", "quotes", "versions", "kvm", "japanese", "prompts", "frames", "log"],
)
def test_a_two_megabyte_paste_never_backtracks(extractor: DetailExtractor, paste: str) -> None:
    # A guard against catastrophic backtracking, not a speed test (that is benchmarks/): a regex that
    # backtracks on these takes minutes, linear code well under a second even on a busy machine.
    started = time.perf_counter()
    extractor.extract("", paste)
    assert time.perf_counter() - started < 5.0


# --------------------------------------------------------------------------------------------------
# Catalogs
# --------------------------------------------------------------------------------------------------


def test_release_catalog_covers_the_history(releases: list[Release]) -> None:
    versions = [r.version for r in releases]
    assert versions[0] == "4.0.0-incubating"
    assert versions[-1] == "4.22.0.1"
    assert {"4.20.3.0", "4.21.0.0", "4.9.3.1", "4.18.2.5", "4.19.3.0"} <= set(versions)
    assert not any(v.startswith("4.23") for v in versions)
    assert len(versions) == len(set(versions))


@pytest.mark.parametrize(
    ("version", "java"),
    [("4.0.0-incubating", "6"), ("4.3.2", "6"), ("4.4.0", "7"), ("4.9.3.1", "7"), ("4.10.0.0", "8"),
     ("4.13.1.0", "8"), ("4.14.0.0", "11"), ("4.19.3.0", "11"), ("4.20.0.0", "17"), ("4.22.0.1", "17")],
)  # fmt: skip
def test_release_java(releases: list[Release], version: str, java: str) -> None:
    assert next(r.java for r in releases if r.version == version) == java


def test_systemvm_templates_follow_the_naming_rules(releases: list[Release]) -> None:
    for release in releases:
        template = release.systemvm_template
        if release.series in ("4.0", "4.1", "4.2"):
            assert template is None, release.version
            continue
        assert template is not None, release.version
        assert template.url.endswith("/")
        assert {"kvm", "xenserver", "vmware", "hyperv"} <= set(template.files)
        series = tuple(int(n) for n in release.series.split("."))
        assert ("ovm3" in template.files) == (series >= (4, 6)), release.version
        prefix = "systemvm64template-" if series < (4, 11) else "systemvmtemplate-"
        for hypervisor, name in template.files.items():
            assert name.startswith(prefix + template.version), (release.version, hypervisor)
            assert ("-x86_64-" in name) == (series >= (4, 20)), (release.version, hypervisor)
        assert template.files["kvm"].endswith("-kvm.qcow2.bz2")
        assert template.files["vmware"].endswith("-vmware.ova")


def test_template_versions_by_release(releases: list[Release]) -> None:
    template = {r.version: r.systemvm_template.version for r in releases if r.systemvm_template}
    assert template["4.21.0.0"] == "4.20.2"
    assert template["4.20.3.0"] == "4.20.2"
    assert template["4.12.0.0"] == "4.11.2"
    assert template["4.13.1.0"] == "4.11.3"
    assert template["4.9.3.1"] == "4.6.0"
    assert template["4.22.0.1"] == "4.22.0"


def test_catalogs_pass_the_knowledge_base_cross_checks() -> None:
    tip = yaml.safe_dump(
        {
            "id": "sample",
            "title": {"en": "Sample", "ja": "サンプル"},
            "summary": {"en": "A sample tip.", "ja": "サンプルです。"},
            "fix": {"en": ["Do it."], "ja": ["実施します。"]},
            "applies": {"hypervisors": ["kvm", "xenserver"], "os_families": ["el", "debian", "suse"]},
            "examples": [f"sample question {n}" for n in range(25)],
        },
        allow_unicode=True,
    )
    out_of_scope = yaml.safe_dump({"examples": [f"unrelated question {n}" for n in range(120)]})
    files = {
        "tips/sample.yaml": tip,
        "out_of_scope.yaml": out_of_scope,
        "catalog/releases.yaml": _load("releases.yaml"),
        "catalog/os.yaml": _load("os.yaml"),
        "catalog/hypervisors.yaml": _load("hypervisors.yaml"),
    }
    kb = parse_knowledge_base(files)
    assert kb.release("4.18") is not None and kb.release("4.18").version == "4.18.2.5"
    assert {o.family for o in kb.os} == {"el", "debian", "suse", "other"}
    assert {h.id for h in kb.hypervisors} >= {"kvm", "xenserver", "vmware", "hyperv", "ovm3", "lxc"}


# --------------------------------------------------------------------------------------------------
# Issue-template posts
# --------------------------------------------------------------------------------------------------

_TEMPLATE = """<!--
Verify first that your issue is not already reported. Always add information AFTER these comments.
-->

##### ISSUE TYPE
 * Bug Report

##### COMPONENT NAME
~~~
Management server
~~~

##### CLOUDSTACK VERSION
<!-- versions affected, one a line, e.g. 4.19.0.0 -->
{version}

##### CONFIGURATION
<!-- e.g. advanced zone, KVM or VMware hypervisor, NFS storage -->
{configuration}

##### OS / ENVIRONMENT
<!-- e.g. Ubuntu 22.04 management server -->
{environment}

##### SUMMARY
{summary}
"""


def test_template_details_come_from_their_sections(extractor: DetailExtractor) -> None:
    body = _TEMPLATE.format(
        version="4.18.1.0",
        configuration="Advanced zone, KVM hosts, NFS primary storage",
        environment="Rocky Linux 8 management server",
        summary="After the upgrade from 4.17 the XenServer pool of the old zone and the new hosts disconnect.",
    )
    report = extractor.extract("Hosts disconnect", body)
    assert (report.version, report.os, report.hypervisor) == ("4.18.1.0", "Rocky Linux 8", "KVM")


def test_template_hints_and_empty_headings_are_not_details(extractor: DetailExtractor) -> None:
    body = _TEMPLATE.format(version="", configuration="", environment="", summary="The host add fails.")
    report = extractor.extract("Host add fails", body)
    assert (report.version, report.os, report.hypervisor) == (None, None, None)
    assert Detail.VERSION in report.missing and Detail.HYPERVISOR in report.missing


def test_template_details_written_elsewhere_still_count(extractor: DetailExtractor) -> None:
    body = _TEMPLATE.format(
        version="",
        configuration="",
        environment="",
        summary="On ACS 4.19 with Ubuntu 22.04 and KVM the host add fails.",
    )
    report = extractor.extract("", body)
    assert (report.version, report.os, report.hypervisor) == ("4.19", "Ubuntu 22.04", "KVM")


def test_hypervisor_from_the_environment_when_configuration_has_none(extractor: DetailExtractor) -> None:
    body = _TEMPLATE.format(
        version="4.20",
        configuration="basic zone",
        environment="Ubuntu 22.04, hosts on XCP-ng 8.2",
        summary="x",
    )
    report = extractor.extract("", body)
    assert (report.version, report.os, report.hypervisor) == ("4.20", "Ubuntu 22.04", "XCP-ng 8.2")


def test_a_hypervisor_named_only_in_a_log_paste_counts_when_written_out(extractor: DetailExtractor) -> None:
    frames = "\n".join(
        f"2024-01-02 10:11:{i:02d},123 ERROR [c.c.h.x.r.Xenserver625StorageProcessor] (w-{i}:ctx) failed"
        + "\n\tat com.cloud.hypervisor.xenserver.resource.CitrixResourceBase.execute(CitrixResourceBase.java:1)"
        for i in range(3)
    )
    assert extractor.extract("ISO copy fails", f"Copying the ISO fails, log:\n{frames}").hypervisor is None
    named = f"Copying the ISO fails, log:\n{frames}\n2024-01-02 10:12:00,000 WARN [c] (w) on the KVM host h1"
    assert extractor.extract("ISO copy fails", named).hypervisor == "KVM"
