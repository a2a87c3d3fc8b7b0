"""Write the sample mailing-list archive into samples/archive/ and read it back to count what it holds.

The archive exercises the readers: an mbox mixing an English and a Japanese list (many charsets,
quoting styles, broken threading headers, one unreadable message) and a Mailman 2 pipermail month
in EUC-JP. Every date, id and byte is fixed, so running the script twice gives identical files.

Usage: python samples/make_archive.py  (Python 3.11+, standard library only)
"""

from __future__ import annotations

import base64
import email.policy
import gzip
import hashlib
import html
import mailbox
import quopri
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from pathlib import Path
from textwrap import dedent
from typing import Any, Literal

OUT = Path(__file__).resolve().parent / "archive"
MBOX_NAME = "cloudstack-users.mbox"
PIPERMAIL_NAME = "2024-March.txt.gz"

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAYS_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
DAYS_JA = "月火水木金土日"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_LONG = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS_DE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def tz(hours: float) -> timezone:
    """A fixed UTC offset (March 2024 offsets; no daylight saving changes inside the archive)."""
    return timezone(timedelta(minutes=round(hours * 60)))


JST = tz(9)


def text(block: str) -> str:
    """An indented triple-quoted block as plain text without the common indent or outer blank lines."""
    return dedent(block).strip("\n")


# --------------------------------------------------------------------------------------------
# People and lists


@dataclass(frozen=True)
class Person:
    """Someone who writes to a list."""

    name: str
    address: str
    zone: timezone

    @property
    def family(self) -> str:
        """The family name as Japanese writers address each other (first token of `name`)."""
        return self.name.split()[0]


@dataclass(frozen=True)
class MailList:
    """A mailing list: its post address, List-Id header and the footer it appends."""

    address: str
    list_id: str
    footer: str


EN = MailList(
    address="users@cloudstack.example.org",
    list_id="<users.cloudstack.example.org>",
    footer=text("""
        ---------------------------------------------------------------------
        To unsubscribe, e-mail: users-unsubscribe@cloudstack.example.org
        For additional commands, e-mail: users-help@cloudstack.example.org
    """),
)
JA = MailList(
    address="cloudstack-ja@lists.example.jp",
    list_id="CloudStack Japanese users <cloudstack-ja.lists.example.jp>",
    footer=text("""
        _______________________________________________
        cloudstack-ja mailing list
        cloudstack-ja@lists.example.jp
        https://lists.example.jp/mailman/listinfo/cloudstack-ja
    """),
)

PRIYA = Person("Priya Raman", "priya.raman@example.com", tz(5.5))
TOM = Person("Tom Becker", "tom.becker@example.org", tz(1))
LUCAS = Person("Lucas Martin", "lucas.martin@example.fr", tz(1))
HELEN = Person("Helen Park", "helen.park@example.com", tz(9))
NIKOLAI = Person("Nikolai Petrov", "n.petrov@example.ru", tz(3))
WEI = Person("Wei Chen", "wei.chen@example.cn", tz(8))
MARCO = Person("Marco Rossi", "marco.rossi@example.it", tz(1))
DANIEL = Person("Daniel Kim", "dkim@example.net", tz(0))
ANA = Person("Ana Souza", "ana.souza@example.com.br", tz(-3))
RAJ = Person("Raj Patel", "raj.patel@example.in", tz(5.5))
OLIVIA = Person("Olivia Brown", "olivia.brown@example.co.uk", tz(0))
JURGEN = Person("Jürgen Wolf", "j.wolf@example.de", tz(1))
SVEN = Person("Sven Lindqvist", "sven@example.se", tz(1))
KEVIN = Person("Kevin O'Brien", "kobrien@example.ie", tz(0))
SIPHO = Person("Sipho Dlamini", "sipho@example.co.za", tz(2))

YAMADA = Person("山田 太郎", "yamada@example.jp", JST)
SATO = Person("佐藤 花子", "sato.hanako@example.jp", JST)
SUZUKI = Person("鈴木 一郎", "suzuki@example.co.jp", JST)
TANAKA = Person("田中 美咲", "tanaka.misaki@example.ne.jp", JST)
TAKAHASHI = Person("髙橋 誠", "takahashi@example.co.jp", JST)
ITO = Person("伊藤 健", "ito.ken@example.jp", JST)
WATANABE = Person("渡辺 翔", "watanabe@example.or.jp", JST)
NAKAMURA = Person("中村 優子", "nakamura@example.jp", JST)
KOBAYASHI = Person("小林 亮", "kobayashi@example.jp", JST)
KATO = Person("加藤 大輔", "kato@example.co.jp", JST)
YAMAMOTO = Person("山本 恵", "yamamoto@example.jp", JST)
MORI = Person("森 直樹", "mori@example.jp", JST)
SHIMIZU = Person("清水 由美", "shimizu@example.co.jp", JST)
MATSUMOTO = Person("松本 隆", "matsumoto@example.jp", JST)


# --------------------------------------------------------------------------------------------
# Message specifications

Encoding = Literal["7bit", "8bit", "base64", "qp", "iso-2022-jp", "iso-2022-jp-nec", "shift_jis"]
Quote = Literal["none", "gmail-uk", "gmail-us", "thunderbird", "outlook", "outlook-de", "ja-date", "ja-san"]
Threading = Literal["full", "in-reply-to-only", "broken-in-reply-to"]
Layout = Literal["bottom", "top"]
Kind = Literal["plain", "alternative", "attachment"]


@dataclass(frozen=True)
class Spec:
    """One message of a thread, described by what the author wrote and how their mailer sent it."""

    key: str
    author: Person
    when: datetime
    subject: str
    words: str
    parent: str | None = None
    quote: Quote = "none"
    layout: Layout = "bottom"
    signature: str | None = None
    encoding: Encoding = "8bit"
    threading: Threading = "full"
    mailing_list: MailList = EN
    footer: bool = True
    kind: Kind = "plain"
    attachment: tuple[str, bytes] | None = None
    mailer: str | None = None
    cc_parent: bool = False


def at(day: int, hour: int, minute: int, zone: timezone, second: int = 0) -> datetime:
    """A moment in March 2024 in the author's zone."""
    return datetime(2024, 3, day, hour, minute, second, tzinfo=zone)


THUNDERBIRD = "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.8.1"
OUTLOOK = "X-Mailer: Microsoft Outlook 16.0"
APPLE = "X-Mailer: Apple Mail (2.3774.400.31)"
SYLPHEED = "X-Mailer: Sylpheed 3.7.0 (GTK+ 2.24.33; x86_64-pc-linux-gnu)"
BECKY = "X-Mailer: Becky! ver. 2.81.04 [ja]"
IPHONE = "X-Mailer: iPhone Mail (21D61)"
GMAIL = "gmail"  # no header; marks Gmail-style Message-IDs


def english_threads() -> list[list[Spec]]:
    """Threads of the English list."""
    e1 = [
        Spec(
            "e1a",
            PRIYA,
            at(4, 9, 12, PRIYA.zone),
            "cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'",
            text("""
                Hi all,

                I am installing a fresh management server and I am stuck at the database step.

                CloudStack 4.19.1.0 (packages from download.cloudstack.org)
                Management server: Ubuntu 22.04.4 LTS, MySQL 8.0.36 on the same box
                Hypervisor: KVM on Ubuntu 22.04

                Command:
                  cloudstack-setup-databases cloud:Secr3tPass@localhost --deploy-as=root:Secr3tRoot

                Output (trimmed):
                  Mysql user name:cloud                                   [ OK ]
                  Checking Cloud database files ...                       [ OK ]
                  Checking local machine hostname ...                     [ OK ]
                  Preparing /etc/cloudstack/management/db.properties      [ OK ]
                  Applying /usr/share/cloudstack-management/setup/create-database.sql
                  We apologize for below error:
                  Encountering an error when executing mysql script
                  ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)
                  Please run: cloudstack-setup-databases -h

                I can log in with "sudo mysql" without any password. What am I missing?

                Thanks,
                Priya
             """),
            signature="Priya Raman\nPlatform team",
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e1b",
            TOM,
            at(4, 6, 40, TOM.zone),
            "Re: cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'",
            text("""
                Hi Priya,

                on Ubuntu the MySQL 8 root account authenticates through the unix socket by default.
                That is why "sudo mysql" works without a password while a password login is refused.
                Give root a password first:

                  sudo mysql
                  mysql> ALTER USER 'root'@'localhost' IDENTIFIED WITH mysql_native_password BY 'Secr3tRoot';
                  mysql> FLUSH PRIVILEGES;

                Then run cloudstack-setup-databases again with the same --deploy-as value.

                Tom
             """),
            parent="e1a",
            quote="gmail-uk",
            encoding="7bit",
            mailer=THUNDERBIRD,
            cc_parent=True,
        ),
        Spec(
            "e1c",
            PRIYA,
            at(4, 13, 5, PRIYA.zone),
            "Re: cloudstack-setup-databases fails with Access denied for user 'root'@'localhost'",
            text("""
                That was it. The script now ends with "CloudStack has successfully initialized
                database" and the management server is up. Solved, thank you Tom!
             """),
            parent="e1b",
            quote="gmail-uk",
            layout="top",
            signature="Priya Raman\nPlatform team",
            encoding="7bit",
            mailer=GMAIL,
        ),
    ]

    e2 = [
        Spec(
            "e2a",
            LUCAS,
            at(5, 10, 2, LUCAS.zone),
            "Unable to add KVM host: Cannot find the server resources",
            text("""
                Hello,

                I cannot add my first KVM host. The UI says:

                  Unable to add the host: Cannot find the server resources at http://10.0.0.21

                The management server is running and the UI works, I followed the install guide
                step by step. Any hints where to look?

                Lucas
             """),
            encoding="7bit",
            mailer=OUTLOOK,
        ),
        Spec(
            "e2b",
            HELEN,
            at(5, 19, 30, HELEN.zone),
            "Re: Unable to add KVM host: Cannot find the server resources",
            text("""
                Hi Lucas,

                that message only says that no discoverer accepted the host, the real reason is
                on the host itself. Could you tell us:

                - the CloudStack version
                - the OS and version of the management server and of the host
                - the end of /var/log/cloudstack/agent/setup.log and agent.log on the host
                - the output of "systemctl status cloudstack-agent"

                Helen
             """),
            parent="e2a",
            quote="gmail-us",
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e2c",
            LUCAS,
            at(6, 9, 14, LUCAS.zone),
            "RE: Unable to add KVM host: Cannot find the server resources",
            text("""
                Hi Helen,

                sorry, here are the details:

                - CloudStack 4.19.0.1
                - Management server: Rocky Linux 9.3
                - Host: Rocky Linux 9.3, KVM (libvirt 9.5, qemu-kvm 8.0)

                cloudstack-agent keeps restarting: "Active: activating (auto-restart) ... status=67".
                agent.log on the host repeats:

                  Connection with libvirtd is broken: invalid connection pointer in virConnectGetVersion

                Regards,
                Lucas
             """),
            parent="e2b",
            quote="outlook",
            layout="top",
            kind="alternative",
            encoding="qp",
            mailer=OUTLOOK,
        ),
        Spec(
            "e2d",
            HELEN,
            at(6, 21, 48, HELEN.zone),
            "Re: Unable to add KVM host: Cannot find the server resources",
            text("""
                EL9 runs libvirt with socket activation and the modular daemons, which the agent
                does not expect. On the host:

                  1. uncomment LIBVIRTD_ARGS="--listen" in /etc/sysconfig/libvirtd
                  2. systemctl mask libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \\
                       libvirtd-tls.socket libvirtd-tcp.socket
                  3. add remote_mode="legacy" to /etc/libvirt/libvirt.conf
                  4. systemctl restart libvirtd cloudstack-agent

                Then add the host again from the UI.

                Helen
             """),
            parent="e2c",
            quote="gmail-us",
            encoding="7bit",
            mailer=GMAIL,
        ),
    ]

    log = (
        text("""
        2024-03-06 11:02:14,551 DEBUG [c.c.s.SecondaryStorageManagerImpl] (secstorage-1:ctx-5f1b2c3d) \
(logid:a1b2c3d4) System VM template is not ready at zone [1], wait until it is ready to launch secondary \
storage VM.
        2024-03-06 11:02:14,563 DEBUG [c.c.c.ConsoleProxyManagerImpl] (consoleproxy-1:ctx-6a7b8c9d) \
(logid:e5f6a7b8) System vm template is not ready at data center 1, wait until it is ready to launch console \
proxy vm
        2024-03-06 11:02:44,552 DEBUG [c.c.s.SecondaryStorageManagerImpl] (secstorage-1:ctx-0c1d2e3f) \
(logid:b2c3d4e5) System VM template is not ready at zone [1], wait until it is ready to launch secondary \
storage VM.
    """)
        + "\n"
    )
    e3 = [
        Spec(
            "e3a",
            NIKOLAI,
            at(6, 14, 20, NIKOLAI.zone),
            "SSVM and CPVM never start on a new zone",
            text("""
                Hello list,

                on a brand new zone neither the secondary storage VM nor the console proxy is ever
                created. The zone is enabled, secondary storage (NFS) was added in the zone wizard.

                CloudStack 4.18.1.0
                Management server: AlmaLinux 8.9
                Hypervisor: KVM, hosts on AlmaLinux 8.9

                The attached log excerpt shows the same two lines every 30 seconds. What do I check?

                Nikolai
             """),
            encoding="7bit",
            kind="attachment",
            attachment=("management-server.log", log.encode()),
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e3b",
            WEI,
            at(7, 9, 45, WEI.zone),
            "Re: SSVM and CPVM never start on a new zone",
            text("""
                Since 4.16 the system VM template is seeded from
                /usr/share/cloudstack-management/templates/systemvm/ when the first secondary
                storage is added. Search management-server.log for "Failed to register template
                for hypervisor: KVM" or "Unable to locate metadata file".

                If the seeding failed, register the template by hand: mount the secondary storage
                on the management server and run

                  /usr/share/cloudstack-common/scripts/storage/secondary/cloud-install-sys-tmplt \\
                    -m /mnt/secondary \\
                    -u https://download.cloudstack.org/systemvm/4.18/systemvmtemplate-4.18.1-kvm.qcow2.bz2 \\
                    -h kvm -F

                then restart cloudstack-management.
             """),
            parent="e3a",
            quote="thunderbird",
            signature="Wei",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e3c",
            NIKOLAI,
            at(7, 12, 30, NIKOLAI.zone),
            "Re[2]: SSVM and CPVM never start on a new zone",
            text("""
                Wei, you were right: the log had "Unable to locate metadata file in your setup at
                /usr/share/cloudstack-management/templates/systemvm/metadata.ini". Our image build
                had removed that directory to save space. After cloud-install-sys-tmplt and a
                restart both system VMs came up within ten minutes. Thanks!
             """),
            parent="e3b",
            quote="thunderbird",
            layout="top",
            encoding="7bit",
            mailer="X-Mailer: The Bat! (v10.5.3) Professional",
        ),
    ]

    e4 = [
        Spec(
            "e4a",
            MARCO,
            at(7, 16, 5, MARCO.zone),
            "Host add times out: Timeout, to wait for the host connecting to mgt svr",
            text("""
                Hi everyone,

                adding a KVM host runs for a few minutes and then fails with

                  Timeout, to wait for the host connecting to mgt svr, assuming it is failed

                Versions: CloudStack 4.19.1.1, management server RHEL 9.3 (firewalld active),
                KVM host RHEL 9.3. SSH from the management server to the host works and the agent
                is installed. From the host:

                  # nc -zv 10.1.1.5 8250
                  Ncat: Version 7.92 ( https://nmap.org/ncat )
                  Ncat: No route to host.

                Ping to 10.1.1.5 works though.

                Marco
             """),
            encoding="7bit",
            mailer=APPLE,
        ),
        Spec(
            "e4b",
            DANIEL,
            at(7, 17, 2, DANIEL.zone),
            "Re: Host add times out: Timeout, to wait for the host connecting to mgt svr",
            text("""
                "No route to host" with a working ping is firewalld rejecting the port.
                Since 4.15 cloudstack-setup-management no longer opens any ports, so on RHEL you
                have to do it yourself on the management server:

                  firewall-cmd --permanent --add-port={8080,8250,8443,9090}/tcp
                  firewall-cmd --reload

                8250 is the one the agent (and later the SSVM and CPVM) connects to.

                Daniel
             """),
            parent="e4a",
            quote="gmail-uk",
            encoding="7bit",
            threading="in-reply-to-only",
            mailer=GMAIL,
        ),
        Spec(
            "e4c",
            MARCO,
            at(7, 18, 40, MARCO.zone),
            "Re: Host add times out: Timeout, to wait for the host connecting to mgt svr",
            text("""
                That was it, nc connects now and the host is Up. Grazie!
             """),
            parent="e4b",
            quote="gmail-uk",
            layout="top",
            encoding="7bit",
            threading="in-reply-to-only",
            mailer=APPLE,
        ),
    ]

    e5 = [
        Spec(
            "e5a",
            ANA,
            at(8, 8, 30, ANA.zone),
            "Java version for 4.20.0.0 on Ubuntu 24.04?",
            text("""
                Hi,

                we are doing a fresh install of CloudStack 4.20.0.0 on Ubuntu 24.04. The default
                Java there is 21. Is 21 fine, or do we need a specific version?

                Obrigada,
                Ana
             """),
            encoding="8bit",
            mailer=GMAIL,
        ),
        Spec(
            "e5b",
            RAJ,
            at(8, 19, 10, RAJ.zone),
            "Re: Java version for 4.20.0.0 on Ubuntu 24.04?",
            text("""
                4.20 needs Java 17 on the management server and on KVM hosts. Install it and make
                it the default:

                  apt install openjdk-17-jre-headless
                  update-alternatives --config java

                Stay on 17 for 4.20; newer Java is only accepted by later releases.

                Raj
             """),
            parent="e5a",
            quote="gmail-uk",
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e5c",
            ANA,
            at(8, 13, 55, ANA.zone),
            "Re: Java version for 4.20.0.0 on Ubuntu 24.04?",
            text("""
                Thanks Raj. After switching to 17 the management server starts and the UI loads.
             """),
            parent="e5b",
            quote="gmail-uk",
            layout="top",
            encoding="8bit",
            mailer=GMAIL,
        ),
    ]

    e6 = [
        Spec(
            "e6a",
            OLIVIA,
            at(11, 15, 20, OLIVIA.zone),
            "Where are the management server logs?",
            text("""
                Hello,

                the UI stays blank after installing 4.19.0.2 and I would like to look at the logs
                before asking anything more specific. Where does the management server write them?

                Olivia
             """),
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e6b",
            TOM,
            at(11, 16, 45, TOM.zone),
            "Re: Where are the management server logs?",
            text("""
                The main one is /var/log/cloudstack/management/management-server.log.
                Next to it: setupManagement.log (from cloudstack-setup-management), apilog.log and
                access.log. On 4.19 the service output goes to the journal:

                  journalctl -u cloudstack-management

                On KVM hosts look at /var/log/cloudstack/agent/agent.log and setup.log.

                Tom
             """),
            parent="e6a",
            quote="thunderbird",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
    ]

    e7 = [
        Spec(
            "e7a",
            JURGEN,
            at(11, 9, 15, JURGEN.zone),
            "Primary storage: mount.nfs: access denied by server",
            text("""
                Hello,

                adding NFS primary storage to our cluster fails. The host's agent.log shows

                  mount.nfs: access denied by server while mounting 10.10.0.5:/export/primary

                CloudStack 4.18.2.0, management server Ubuntu 22.04, KVM hosts Ubuntu 22.04.

                Best regards
                Jürgen Wolf
             """),
            encoding="qp",
            mailer=OUTLOOK,
        ),
        Spec(
            "e7b",
            HELEN,
            at(12, 1, 5, HELEN.zone),
            "Re: Primary storage: mount.nfs: access denied by server",
            text("""
                Primary storage is mounted by the KVM hosts, not by the management server, so the
                export must allow the hosts' addresses, with rw and no_root_squash. What does
                /etc/exports say on the NFS server? You can test from a host with

                  mount -t nfs 10.10.0.5:/export/primary /mnt && umount /mnt

                Helen
             """),
            parent="e7a",
            quote="gmail-us",
            encoding="8bit",
            threading="broken-in-reply-to",
            mailer=GMAIL,
        ),
        Spec(
            "e7c",
            JURGEN,
            at(12, 8, 50, JURGEN.zone),
            "AW: Primary storage: mount.nfs: access denied by server",
            text("""
                Hi Helen,

                found it: /etc/exports only allowed 10.10.0.0/24, but the hosts reach the NFS server
                from 10.20.0.0/24. Added that network, ran exportfs -a, storage is Up now.

                Thanks,
                Jürgen
             """),
            parent="e7b",
            quote="outlook-de",
            layout="top",
            encoding="qp",
            mailer=OUTLOOK,
        ),
    ]

    e8 = [
        Spec(
            "e8a",
            WEI,
            at(8, 16, 2, WEI.zone),
            "Fwd: cloudstack-setup-management fails at hostname check",
            text("""
                Hi all,

                forwarding a question from my colleague Li Na, she is not subscribed yet.

                ---------- Forwarded message ---------
                From: Li Na <li.na@example.cn>
                Date: Fri, 8 Mar 2024 at 15:20
                Subject: cloudstack-setup-management fails at hostname check
                To: Wei Chen <wei.chen@example.cn>

                Hi Wei,

                cloudstack-setup-management stops right at the beginning:

                  Starting to configure CloudStack Management Server:
                  Checking hostname ...                  [Failed]
                  Please edit /etc/hosts, add a Fully Qualified Domain Name as your hostname

                The machine is Rocky Linux 8.9 and the hypervisor will be KVM. "hostname" prints mgmt01.
                From what I read the setup wants an FQDN, but what exactly does it check?

                Thanks
                Li
             """),
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e8b",
            DANIEL,
            at(8, 10, 30, DANIEL.zone),
            "Re: Fwd: cloudstack-setup-management fails at hostname check",
            text("""
                The setup scripts run "hostname --fqdn" and need a full name that resolves to the
                server's own address. Add a line like this to /etc/hosts:

                  10.0.0.5   mgmt01.lab.example.cn   mgmt01

                and set the static hostname with hostnamectl set-hostname mgmt01.lab.example.cn.
                Which CloudStack version is this, by the way?

                Daniel
             """),
            parent="e8a",
            quote="gmail-uk",
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e8c",
            WEI,
            at(9, 10, 12, WEI.zone),
            "Re: Fwd: cloudstack-setup-management fails at hostname check",
            text("""
                Sorry, forgot that: it is 4.18.2.3. Li added the /etc/hosts line, "hostname --fqdn"
                now prints mgmt01.lab.example.cn and the setup ended with "CloudStack Management
                Server setup is Done!". Thanks Daniel.
             """),
            parent="e8b",
            quote="gmail-uk",
            layout="top",
            encoding="7bit",
            mailer=GMAIL,
        ),
    ]

    e9 = [
        Spec(
            "e9a",
            RAJ,
            at(12, 11, 25, RAJ.zone),
            "ERROR 1598 Binary logging not possible after enabling log-bin",
            text("""
                Hi,

                we enabled binary logging on our database server for point-in-time recovery
                (log-bin=mysql-bin in /etc/my.cnf) and since then VM deployments fail. Setup:
                CloudStack 4.15.2.0, management server and MySQL 5.6 on CentOS 7.9, KVM hosts.
                management-server.log has:

                  ERROR 1598 (HY000): Binary logging not possible. Message: Transaction level
                  'READ-COMMITTED' in InnoDB is not safe for binlog mode 'STATEMENT'

                Which binlog settings does CloudStack expect?

                Raj
             """),
            encoding="7bit",
            mailer=GMAIL,
        ),
        Spec(
            "e9b",
            OLIVIA,
            at(12, 8, 40, OLIVIA.zone),
            "Re: ERROR 1598 Binary logging not possible after enabling log-bin",
            text("""
                CloudStack opens its connections with READ COMMITTED isolation, and MySQL refuses
                that combination with statement-based logging. MySQL 5.6 defaults to STATEMENT,
                so add this under [mysqld] next to log-bin and restart mysqld:

                  binlog_format=ROW

                The install guide lists it together with innodb_rollback_on_timeout and
                innodb_lock_wait_timeout.

                Olivia
             """),
            parent="e9a",
            quote="thunderbird",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
    ]

    e10 = [
        Spec(
            "e10a",
            SVEN,
            at(13, 10, 0, SVEN.zone),
            "[VOTE] Apache CloudStack 4.18.2.0 RC1",
            text("""
                Hi all,

                I have put together the first release candidate for 4.18.2.0. The source tarball,
                signatures and convenience packages are on the usual staging locations, and the
                tag is 4.18.2.0-RC20240313T1000.

                Please test and vote. The vote stays open for at least 72 hours.

                [ ] +1 approve
                [ ] +0 no opinion
                [ ] -1 disapprove (and reason why)

                Regards,
                Sven
             """),
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e10b",
            TOM,
            at(13, 15, 30, TOM.zone),
            "Re: [VOTE] Apache CloudStack 4.18.2.0 RC1",
            text("""
                +1 (binding)

                Checked signatures and hashes, built from source, upgraded a small KVM lab from
                4.18.1.0 and ran a few VM lifecycle tests.
             """),
            parent="e10a",
            quote="thunderbird",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e10c",
            PRIYA,
            at(14, 9, 0, PRIYA.zone),
            "Re: [VOTE] Apache CloudStack 4.18.2.0 RC1",
            text("""
                +1 (non-binding), upgraded our staging environment without problems.
             """),
            parent="e10a",
            quote="gmail-uk",
            layout="top",
            encoding="7bit",
            mailer=GMAIL,
        ),
    ]

    e11 = [
        Spec(
            "e11a",
            OLIVIA,
            at(14, 11, 10, OLIVIA.zone),
            "VPC tier ACL: which rule wins?",
            text("""
                Hello,

                in a VPC I have an ACL list on the "db" tier with these items:

                  rule 10: allow tcp 3306 from 10.1.1.0/24 (web tier)
                  rule 20: deny  all      from 0.0.0.0/0

                The web tier still cannot reach MySQL. The router (r-301-VM) log shows:

                  2024-03-14 10:55:03,120 INFO  CsAcl: Adding ACL rule for eth3: -A ACL_INBOUND_eth3 ...
                  2024-03-14 10:55:03,124 INFO  CsAcl: Adding ACL rule for eth3: -A ACL_INBOUND_eth3 -j DROP

                Are the rule numbers evaluated lowest first, or is there a default deny I missed?

                Olivia
             """),
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e11b",
            DANIEL,
            at(14, 12, 2, DANIEL.zone),
            "Re: VPC tier ACL: which rule wins?",
            text("""
                Lowest number first, so your two items look right. Check that this list is the one
                actually attached to the db tier (the tier's "Replace ACL list" action shows it),
                and that the traffic type of rule 10 is Ingress.
             """),
            parent="e11a",
            quote="gmail-uk",
            signature="Daniel",
            encoding="7bit",
            mailer=GMAIL,
        ),
    ]

    e12 = [
        Spec(
            "e12a",
            KEVIN,
            at(15, 9, 30, KEVIN.zone),
            "SELinux enforcing warning from cloudstack-setup-databases",
            text("""
                Hi,

                running cloudstack-setup-databases printed

                  Checking SELinux setup ...
                  SELinux is set to enforcing. There are two options:

                and then carried on. CloudStack 4.19.0.2 on Oracle Linux 9.3, KVM hosts on
                Oracle Linux 9.3 too. Our security team wants SELinux enforcing everywhere.
                Do I have to switch to permissive?

                Kevin
             """),
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e12b",
            TOM,
            at(15, 11, 0, TOM.zone),
            "Re: SELinux enforcing warning from cloudstack-setup-databases",
            text("""
                The install guide asks for permissive on the management server and on KVM hosts:

                  sed -i 's/^SELINUX=.*/SELINUX=permissive/' /etc/selinux/config
                  setenforce permissive

                The guide also says production should really stay enforcing with proper policies,
                but permissive is the tested path. If you go that way, start from the
                cloudstack-agent policy module shipped with the EL packages and audit2allow.

                Tom
             """),
            parent="e12a",
            quote="thunderbird",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
    ]

    e13 = [
        Spec(
            "e13a",
            SIPHO,
            at(18, 20, 15, SIPHO.zone),
            "Single NIC lab: SSVM cannot reach its gateway",
            text("""
                Hi,

                I'm building a lab on one machine with a single network card: CloudStack 4.19.1.1,
                Ubuntu 22.04, management server and KVM on the same box, bridge cloudbr0 on eno1.
                The SSVM starts but cannot reach anything outside:

                root@s-1-VM:~# ping -c 2 192.168.1.1
                PING 192.168.1.1 (192.168.1.1) 56(84) bytes of data.
                From 192.168.1.50 icmp_seq=1 Destination Host Unreachable
                From 192.168.1.50 icmp_seq=2 Destination Host Unreachable

                From the host itself the gateway answers fine. Do I need a second NIC?

                Sipho
             """),
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e13b",
            WEI,
            at(19, 9, 5, WEI.zone),
            "Re: Single NIC lab: SSVM cannot reach its gateway",
            text("""
                One NIC is enough; put all traffic types on cloudbr0 (traffic label cloudbr0 for
                KVM) and keep the public range on the same subnet as the bridge.

                Is "the machine" bare metal or itself a VM? If it runs in VirtualBox or another
                desktop hypervisor, the bridged adapter must allow promiscuous mode, otherwise
                the system VMs' MAC addresses are dropped.
             """),
            parent="e13a",
            quote="thunderbird",
            signature="Wei",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
        Spec(
            "e13c",
            SIPHO,
            at(19, 7, 30, SIPHO.zone),
            "Re: Single NIC lab: SSVM cannot reach its gateway",
            text("""
                Good guess, it is a VirtualBox VM (nested KVM). Setting Promiscuous Mode to
                "Allow All" on the bridged adapter fixed it, the SSVM now pings the gateway.
             """),
            parent="e13b",
            quote="thunderbird",
            layout="top",
            encoding="7bit",
            mailer=THUNDERBIRD,
        ),
    ]
    e14 = [
        Spec(
            "e14a",
            MARCO,
            at(21, 8, 50, MARCO.zone),
            "cloudstack-management stops right after starting",
            text("""
                Hi,

                the management server does not come up on a new install. It starts and a few
                seconds later systemd shows it as failed. Any idea what to check first?

                Marco
             """),
            encoding="7bit",
            mailer=APPLE,
        ),
        Spec(
            "e14b",
            MARCO,
            at(21, 9, 35, MARCO.zone),
            "Re: cloudstack-management stops right after starting",
            text("""
                Sorry, I sent that too early. Details:

                CloudStack 4.22.0.0, management server on Rocky Linux 8.9, KVM hosts on Rocky 8.
                The box had an old Java from another project, "java -version" says 1.8.0_402.
                "journalctl -u cloudstack-management" ends with:

                  ERROR: JAVA 8 is not supported. Currently only JAVA versions 11, 17 and 21 are supported.

                Marco
             """),
            parent="e14a",
            quote="none",
            encoding="7bit",
            mailer=APPLE,
        ),
    ]
    return [e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14]


def japanese_threads() -> list[list[Spec]]:
    """Threads of the Japanese list (subject tag [cloudstack-ja])."""
    tag = "[cloudstack-ja] "

    def ja(**kwargs: Any) -> Spec:
        return Spec(mailing_list=JA, **kwargs)

    j1 = [
        ja(
            key="j1a",
            author=YAMADA,
            when=at(5, 10, 0, JST),
            subject=tag + "cloudstack-setup-databases で Access denied になります",
            words=text("""
              お世話になっております。山田です。

              検証環境で管理サーバーを構築しているのですが、
              cloudstack-setup-databases の実行でエラーになってしまいます。

              環境:
              - CloudStack 4.19.1.1
              - 管理サーバー: AlmaLinux 9.3 (MySQL 8.0.36, AppStream 版)
              - ハイパーバイザー: KVM (AlmaLinux 9.3)

              実行したコマンド:
              # cloudstack-setup-databases cloud:cloudpass@localhost --deploy-as=root:rootpass

              出力 (抜粋):
              Encountering an error when executing mysql script
              ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)

              MySQL の root パスワードは設定していないと思います。
              何か手順が抜けているでしょうか。
           """),
            signature="山田 太郎 <yamada@example.jp>",
            encoding="base64",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j1b",
            author=SATO,
            when=at(5, 11, 24, JST),
            subject="返信: " + tag + "cloudstack-setup-databases で Access denied になります",
            words=text("""
              佐藤です。

              AppStream の MySQL 8.0 は、インストール直後の root に
              パスワードが設定されていません。そのため
              --deploy-as=root:rootpass のようにパスワードを付けると
              Access denied になります。

              先に root のパスワードを設定してから、もう一度実行してみてください。

              # mysql -u root
              mysql> ALTER USER 'root'@'localhost' IDENTIFIED BY 'rootpass';

              (mysql_secure_installation で設定しても大丈夫です)
           """),
            parent="j1a",
            quote="ja-date",
            encoding="base64",
            mailer=BECKY,
        ),
        ja(
            key="j1c",
            author=YAMADA,
            when=at(5, 13, 2, JST),
            subject="Re: " + tag + "cloudstack-setup-databases で Access denied になります",
            words=text("""
              佐藤さん

              ありがとうございます！
              root のパスワードを設定したら、最後に
              CloudStack has successfully initialized database と表示されました。
              助かりました。
           """),
            parent="j1b",
            quote="ja-san",
            layout="top",
            signature="山田 太郎 <yamada@example.jp>",
            encoding="base64",
            mailer=THUNDERBIRD,
        ),
    ]

    j2 = [
        ja(
            key="j2a",
            author=SUZUKI,
            when=at(6, 9, 30, JST),
            subject=tag + "SELinux の設定について",
            words=text("""
              鈴木です。

              管理サーバーの構築中に SELinux 関係のメッセージが出ました。
              SELinux は無効にしないといけないのでしょうか？
           """),
            signature="鈴木 一郎",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
        ja(
            key="j2b",
            author=ITO,
            when=at(6, 10, 15, JST),
            subject="Re: " + tag + "SELinux の設定について",
            words=text("""
              伊藤です。

              どの手順の途中で出たメッセージか、あと
              CloudStack のバージョン、管理サーバーの OS、ハイパーバイザーを
              教えていただけますか？メッセージの全文もあると助かります。
           """),
            parent="j2a",
            quote="ja-san",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
        ja(
            key="j2c",
            author=SUZUKI,
            when=at(6, 13, 40, JST),
            subject="Re: " + tag + "SELinux の設定について",
            words=text("""
              失礼しました。

              ・CloudStack 4.18.1.0
              ・管理サーバー: Rocky Linux 8.9
              ・ハイパーバイザー: KVM (Rocky Linux 8.9)

              cloudstack-setup-databases の実行中に次のように表示されました。

              Checking SELinux setup ...
              checkSelinux failed with error continuing...

              処理はそのまま最後まで進んでいます。
           """),
            parent="j2b",
            quote="ja-date",
            signature="鈴木 一郎",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
        ja(
            key="j2d",
            author=ITO,
            when=at(6, 15, 5, JST),
            subject="Re: " + tag + "SELinux の設定について",
            words=text("""
              その表示は警告で、セットアップ自体は続行されています。
              インストールガイドの手順では permissive にします。

              1. /etc/selinux/config で SELINUX=permissive にする
              2. setenforce permissive を実行する (再起動は不要)

              KVM ホストも同じです。本番で enforcing のまま運用したい場合は、
              必要なポリシーを自分で用意することになります。
           """),
            parent="j2c",
            quote="ja-san",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
    ]

    j3 = [
        ja(
            key="j3a",
            author=KATO,
            when=at(7, 17, 45, JST),
            subject=tag + "システムVMが起動しません（VMware 環境）",
            words=text("""
              お世話になっております。
              ㈱サンプルシステムズの加藤です。

              VMware 環境で CloudStack を構築していますが、
              システムVM（SSVM、CPVM）が作成されません。

              環境は以下のとおりです。
              　CloudStack：4.19.0.1
              　管理サーバー：Ubuntu 22.04
              　ハイパーバイザー：VMware vSphere 7.0 Update 3（vCenter 管理）

              実施した手順：
              ①管理サーバーをインストールし、cloudstack-setup-databases と
              　cloudstack-setup-management を実行
              ②UI からゾーン、ポッド、クラスター（vCenter）を追加
              ③セカンダリストレージ（NFS）を追加してゾーンを有効化

              management-server.log には次の行が繰り返し出ています。

              System VM template is not ready at zone [1], wait until it is ready to launch secondary storage VM.

              テンプレートを手動で登録する必要があるのでしょうか。
              ご教示いただけますと幸いです。
           """),
            signature="加藤 大輔\n㈱サンプルシステムズ インフラ部\nkato@example.co.jp",
            encoding="iso-2022-jp-nec",
            mailer=OUTLOOK,
        ),
        ja(
            key="j3b",
            author=WATANABE,
            when=at(8, 9, 20, JST),
            subject="Re: " + tag + "システムVMが起動しません（VMware 環境）",
            words=text("""
              渡辺です。

              4.16 以降はセカンダリストレージを追加した時点でテンプレートが
              自動登録されるはずですが、失敗している可能性があります。
              management-server.log に Failed to register template for hypervisor
              という行が出ていないか確認してみてください。

              手動で登録する場合は、管理サーバーにセカンダリストレージを
              /mnt/secondary としてマウントしてから次を実行します。

              /usr/share/cloudstack-common/scripts/storage/secondary/cloud-install-sys-tmplt \\
                -m /mnt/secondary \\
                -u https://download.cloudstack.org/systemvm/4.19/systemvmtemplate-4.19.0-vmware.ova \\
                -h vmware -F

              その後 cloudstack-management を再起動してください。
           """),
            parent="j3a",
            quote="ja-date",
            encoding="8bit",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j3c",
            author=KATO,
            when=at(8, 12, 10, JST),
            subject="Re: " + tag + "システムVMが起動しません（VMware 環境）",
            words=text("""
              渡辺様

              ご回答ありがとうございます。
              ログに Failed to register template for hypervisor: VMware が出ていました。
              教えていただいた手順で登録して再起動したところ、
              SSVM と CPVM が起動しました。

              加藤
              （iPhoneから送信）
           """),
            parent="j3b",
            quote="ja-date",
            layout="top",
            encoding="qp",
            mailer=IPHONE,
        ),
    ]

    j4 = [
        ja(
            key="j4a",
            author=TAKAHASHI,
            when=at(11, 18, 20, JST),
            subject=tag + "4.20 にしたら UI が 503 になります",
            words=text("""
              髙橋と申します。

              4.19.1.1 から 4.20.0.0 にアップグレードしたところ、
              管理サーバーは起動しているように見えるのですが、
              UI にアクセスすると HTTP ERROR 503 になります。

              ・管理サーバー：Ubuntu 22.04
              ・ハイパーバイザー：KVM（Ubuntu 22.04）
              ・java -version の結果：openjdk version "11.0.22"

              4.14～4.19 は Java 11 で動いていたので、そのままにしています。
              Java も上げる必要があるのでしょうか？
           """),
            signature="髙橋 誠",
            encoding="shift_jis",
            mailer="X-Mailer: Microsoft Outlook Express 6.00.2900.5512",
        ),
        ja(
            key="j4b",
            author=NAKAMURA,
            when=at(11, 20, 5, JST),
            subject="Re: " + tag + "4.20 にしたら UI が 503 になります",
            words=text("""
              中村です。

              4.20 からは Java 17 が必要です。

              # apt install openjdk-17-jre-headless
              # update-alternatives --config java

              で 17 を選んでから cloudstack-management を再起動してください。

              あと、アップグレードで /etc/default/cloudstack-management を
              古いまま残していると、JAVA_OPTS に --add-opens などが入らず
              起動しないことがあります。パッケージの新しいファイル
              (.dpkg-dist) と見比べてみてください。
           """),
            parent="j4a",
            quote="ja-date",
            encoding="8bit",
            mailer=THUNDERBIRD,
        ),
    ]

    j5 = [
        ja(
            key="j5a",
            author=TANAKA,
            when=at(12, 14, 0, JST),
            subject=tag + "KVM ホストが追加できません",
            words=text("""
              はじめて投稿します。田中です。

              ホストの追加画面で KVM ホストを追加しようとすると、
              エラーになって失敗します。どこを見ればよいでしょうか。
           """),
            encoding="qp",
            mailer=APPLE,
        ),
        ja(
            key="j5b",
            author=KOBAYASHI,
            when=at(12, 15, 10, JST),
            subject="Re: " + tag + "KVM ホストが追加できません",
            words=text("""
              小林です。

              CloudStack のバージョン、管理サーバーとホストの OS、
              UI に出たエラーメッセージを教えてください。

              管理サーバーの /var/log/cloudstack/management/management-server.log と、
              ホスト側の /var/log/cloudstack/agent/setup.log も見てみてください。
           """),
            parent="j5a",
            quote="ja-date",
            encoding="qp",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j5c",
            author=TANAKA,
            when=at(12, 18, 30, JST),
            subject="Re: " + tag + "KVM ホストが追加できません",
            words=text("""
              ありがとうございます。

              ・CloudStack 4.19.0.1
              ・管理サーバー: Ubuntu 22.04
              ・ホスト: Ubuntu 22.04 (VMware Workstation 上の仮想マシン)

              management-server.log に次の行がありました。

              This machine does not have KVM enabled.

              ホストで ls /dev/kvm を実行すると、ファイルがありませんでした。
           """),
            parent="j5b",
            quote="ja-date",
            layout="top",
            encoding="qp",
            mailer=APPLE,
        ),
        ja(
            key="j5d",
            author=KOBAYASHI,
            when=at(12, 19, 2, JST),
            subject="Re: " + tag + "KVM ホストが追加できません",
            words=text("""
              /dev/kvm が無いので、CPU の仮想化支援機能が使えていません。
              VMware Workstation の仮想マシン設定で
              「Intel VT-x/EPT または AMD-V/RVI を仮想化」にチェックを入れて、
              ホストの VM を起動し直してください。kvm-ok で確認できます。
           """),
            parent="j5c",
            quote="ja-san",
            encoding="qp",
            mailer=THUNDERBIRD,
        ),
    ]

    j6 = [
        ja(
            key="j6a",
            author=ITO,
            when=at(13, 9, 50, JST),
            subject=tag + "SSVM が管理サーバーに接続できません (8250)",
            words=text("""
              伊藤です。今回は質問です。

              ・CloudStack 4.18.2.0
              ・管理サーバー: Rocky Linux 9.3 (firewalld 有効)
              ・ハイパーバイザー: KVM (Rocky Linux 9.3)

              SSVM は Running になるのですが、Agent State が Disconnected のままです。
              SSVM にログインして管理サーバーの 8250 番に接続してみると、

              root@s-12-VM:~# telnet 10.0.0.5 8250
              telnet: Unable to connect to remote host: No route to host

              となります。ping は通ります。
           """),
            encoding="base64",
            mailer=SYLPHEED,
        ),
        ja(
            key="j6b",
            author=SATO,
            when=at(13, 10, 30, JST),
            subject="Re: " + tag + "SSVM が管理サーバーに接続できません (8250)",
            words=text("""
              佐藤です。

              firewalld で 8250/tcp が閉じているのだと思います。
              4.15 以降の cloudstack-setup-management はファイアウォールを
              設定しないので、自分で開ける必要があります。

              # firewall-cmd --permanent --add-port=8250/tcp
              # firewall-cmd --reload

              8080、8443、9090 も一緒に開けておくとよいです。
           """),
            parent="j6a",
            quote="ja-date",
            encoding="base64",
            mailer=BECKY,
        ),
    ]

    j7 = [
        ja(
            key="j7a",
            author=NAKAMURA,
            when=at(14, 16, 0, JST),
            subject=tag + "セカンダリストレージの NFS がマウントできません",
            words=text("""
              中村です。

              ゾーン作成ウィザードでセカンダリストレージを追加すると失敗します。
              管理サーバーから手動でマウントしても同じエラーになります。

              # mount -t nfs 192.168.20.5:/export/secondary /mnt/secondary
              mount.nfs: access denied by server while mounting 192.168.20.5:/export/secondary

              何が足りないのでしょうか。
           """),
            encoding="8bit",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j7b",
            author=YAMADA,
            when=at(14, 17, 20, JST),
            subject=tag + "Re: セカンダリストレージの NFS がマウントできません",
            words=text("""
              山田です。

              NFS サーバーの /etc/exports の内容と、CloudStack のバージョン、
              OS を教えてもらえますか。
              管理サーバーや SSVM のアドレスからのアクセスが許可されていないと、
              access denied になります。
           """),
            parent="j7a",
            quote="ja-date",
            encoding="8bit",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j7c",
            author=NAKAMURA,
            when=at(15, 9, 10, JST),
            subject=tag + "Re: セカンダリストレージの NFS がマウントできません",
            words=text("""
              CloudStack は 4.18.2.0、管理サーバーと NFS サーバーは Ubuntu 22.04 です。

              /etc/exports はこうなっていました。

              /export/secondary 192.168.10.0/24(rw,async,no_root_squash,no_subtree_check)

              管理サーバーは 192.168.20.0/24 側だったので、こちらも追加して
              exportfs -a したところマウントできました。ありがとうございました。
           """),
            parent="j7b",
            quote="ja-san",
            layout="top",
            encoding="8bit",
            mailer=THUNDERBIRD,
        ),
    ]

    j8 = [
        ja(
            key="j8a",
            author=WATANABE,
            when=at(15, 11, 30, JST),
            subject=tag + "ログファイルの場所",
            words=text("""
              渡辺です。

              インストール後に UI にログインできません。
              原因を調べたいのですが、ログはどこを見ればいいでしょうか。
              バージョンは 4.20.0.0 です。
           """),
            encoding="base64",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j8b",
            author=SUZUKI,
            when=at(15, 12, 45, JST),
            subject="Re: " + tag + "ログファイルの場所",
            words=text("""
              鈴木です。

              管理サーバーのログは /var/log/cloudstack/management/ にあります。

              - management-server.log: メインのログ
              - management-server.out / management-server.err: 4.20 からのサービス出力
              - setupManagement.log: cloudstack-setup-management の実行ログ

              journalctl -u cloudstack-management でも確認できます。
           """),
            parent="j8a",
            quote="ja-san",
            signature="鈴木 一郎",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
    ]

    j9 = [
        ja(
            key="j9a",
            author=SATO,
            when=at(18, 12, 0, JST),
            subject=tag + "【告知】第21回 CloudStack 勉強会のお知らせ",
            words=text("""
              皆さま

              日本 CloudStack ユーザー会の佐藤です。
              第21回の勉強会を次のとおり開催します。

              日時: 4月12日(金) 19:00 から 21:00
              会場: 都内 (オンライン配信あり)
              内容:
                - 4.19 の新機能紹介
                - ユーザー事例 2 件
                - LT (発表者募集中です)

              参加申し込みはイベントページからお願いします。
           """),
            signature="佐藤 花子\n日本 CloudStack ユーザー会",
            encoding="iso-2022-jp",
            mailer=BECKY,
        ),
        ja(
            key="j9b",
            author=TANAKA,
            when=at(18, 13, 15, JST),
            subject="Re: " + tag + "【告知】第21回 CloudStack 勉強会のお知らせ",
            words=text("""
              参加します！先日はホスト追加の件でお世話になりました。
              LT も考えてみます。
           """),
            parent="j9a",
            quote="ja-date",
            layout="top",
            encoding="qp",
            mailer=APPLE,
        ),
    ]

    j10 = [
        ja(
            key="j10a",
            author=KOBAYASHI,
            when=at(19, 10, 20, JST),
            subject=tag + "my.cnf の binlog_format について",
            words=text("""
              小林です。

              ドキュメントの my.cnf の例に binlog_format=ROW がありますが、
              既存の DB サーバーは STATEMENT にしてあります。
              CloudStack を相乗りさせる場合、ROW に変える必要がありますか？

              (CloudStack 4.19.1.1 / 管理サーバー Ubuntu 22.04 / KVM)
           """),
            encoding="qp",
            mailer=THUNDERBIRD,
        ),
        ja(
            key="j10b",
            author=ITO,
            when=at(19, 11, 5, JST),
            subject="Re: " + tag + "my.cnf の binlog_format について",
            words=text("""
              伊藤です。

              CloudStack は READ COMMITTED で接続するので、バイナリログが
              STATEMENT だと次のエラーで書き込みが失敗します。

              ERROR 1598 (HY000): Binary logging not possible.

              [mysqld] に binlog_format=ROW を書いて mysqld を再起動してください。
           """),
            parent="j10a",
            quote="ja-date",
            encoding="qp",
            mailer=SYLPHEED,
        ),
    ]

    j11 = [
        ja(
            key="j11a",
            author=YAMAMOTO,
            when=at(20, 15, 40, JST),
            subject=tag + "cloudstack-setup-management で Checking hostname が Failed",
            words=text("""
              山本と申します。

              cloudstack-setup-management を実行すると、すぐに止まってしまいます。

              Checking hostname ...                  [Failed]
              Please edit /etc/hosts, add a Fully Qualified Domain Name as your hostname

              ・CloudStack 4.19.1.1
              ・管理サーバー: Ubuntu 22.04
              ・ハイパーバイザー: KVM

              /etc/hosts は「127.0.1.1 cs-mgmt」になっています。
           """),
            signature="山本 恵",
            encoding="iso-2022-jp",
            mailer=BECKY,
        ),
        ja(
            key="j11b",
            author=YAMADA,
            when=at(20, 16, 30, JST),
            subject="Re: " + tag + "cloudstack-setup-management で Checking hostname が Failed",
            words=text("""
              山田です。

              hostname --fqdn で FQDN が返る必要があります。Ubuntu は標準で
              127.0.1.1 にホスト名を割り当てるので、その行を実際の IP と
              FQDN に書き換えてください。

              192.168.10.5  cs-mgmt.example.local  cs-mgmt

              hostname --fqdn が cs-mgmt.example.local を返すのを確認してから、
              もう一度実行してみてください。
           """),
            parent="j11a",
            quote="ja-date",
            signature="山田 太郎 <yamada@example.jp>",
            encoding="base64",
            mailer=THUNDERBIRD,
        ),
    ]
    j12 = [
        ja(
            key="j12a",
            author=TANAKA,
            when=at(22, 9, 10, JST),
            subject=tag + "プライマリストレージの追加に失敗します",
            words=text("""
              田中です。

              ゾーン作成ウィザードの最後で、プライマリストレージの追加に失敗して
              先に進めません。NFS サーバーは別のマシンに用意しています。
              どのあたりを確認すればよいでしょうか。
           """),
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
        ja(
            key="j12b",
            author=TANAKA,
            when=at(22, 9, 45, JST),
            subject="Re: " + tag + "プライマリストレージの追加に失敗します",
            words=text("""
              田中です。環境を書き忘れていました。

              ・CloudStack 4.19.1.1
              ・管理サーバー: Rocky Linux 9.3
              ・ハイパーバイザー: KVM

              KVM ホストの agent.log には次のように出ていました。

              mount.nfs: access denied by server while mounting 192.168.20.5:/export/primary
           """),
            parent="j12a",
            quote="none",
            encoding="iso-2022-jp",
            mailer=SYLPHEED,
        ),
    ]
    return [j1, j2, j3, j4, j5, j6, j7, j8, j9, j10, j11, j12]


# --------------------------------------------------------------------------------------------
# Encoding


def sjis_to_jis(lead: int, trail: int) -> tuple[int, int]:
    """The JIS row/cell bytes for a two-byte Shift_JIS (CP932) code, NEC row 13 included."""
    if lead >= 0xE0:
        lead -= 0x40
    row = (lead - 0x81) * 2 + 0x21
    if trail >= 0x9F:
        return row + 1, trail - 0x9F + 0x21
    if trail >= 0x80:
        trail -= 1
    return row, trail - 0x40 + 0x21


def iso2022jp_windows(value: str) -> bytes:
    """ISO-2022-JP as Windows mailers write it: CP932 codes (NEC specials like ① ㈱) in ESC $ B runs."""
    out = bytearray()
    kanji = False
    for char in value:
        if ord(char) < 0x80:
            if kanji:
                out += b"\x1b(B"
                kanji = False
            out += char.encode("ascii")
            continue
        code = char.encode("cp932")
        if len(code) != 2:
            raise ValueError(f"{char!r} has no two-byte CP932 code")
        if not kanji:
            out += b"\x1b$B"
            kanji = True
        out += bytes(sjis_to_jis(code[0], code[1]))
    if kanji:
        out += b"\x1b(B"
    return bytes(out)


CHARSETS: dict[Encoding, tuple[str, str]] = {
    # encoding -> (charset label, Python codec used to write it)
    "7bit": ("us-ascii", "ascii"),
    "8bit": ("UTF-8", "utf-8"),
    "base64": ("UTF-8", "utf-8"),
    "qp": ("UTF-8", "utf-8"),
    "iso-2022-jp": ("ISO-2022-JP", "iso2022_jp"),
    "iso-2022-jp-nec": ("ISO-2022-JP", "iso2022_jp"),
    "shift_jis": ("Shift_JIS", "cp932"),
}


def encode_chars(value: str, encoding: Encoding) -> bytes:
    """`value` in the charset the message declares."""
    if encoding == "iso-2022-jp-nec":
        return iso2022jp_windows(value)
    return value.encode(CHARSETS[encoding][1])


def q_encode(data: bytes) -> str:
    """RFC 2047 "Q" encoding of header bytes."""
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    return "".join(chr(b) if b in safe else "_" if b == 0x20 else f"={b:02X}" for b in data)


def encoded_words(value: str, encoding: Encoding) -> list[str]:
    """`value` as RFC 2047 encoded-words of at most 75 characters, split on character boundaries."""
    if encoding in ("7bit", "8bit", "base64"):
        label, mode = "UTF-8", "B"
    elif encoding == "qp":
        label, mode = "UTF-8", "Q"
    else:
        label, mode = CHARSETS[encoding][0], "B"

    def word(chunk: str) -> str:
        data = chunk.encode("utf-8") if label == "UTF-8" else encode_chars(chunk, encoding)
        payload = base64.b64encode(data).decode() if mode == "B" else q_encode(data)
        return f"=?{label}?{mode}?{payload}?="

    words: list[str] = []
    chunk = ""
    for char in value:
        if chunk and len(word(chunk + char)) > 75:
            words.append(word(chunk))
            chunk = ""
        chunk += char
    if chunk:
        words.append(word(chunk))
    return words


def header_text(value: str, encoding: Encoding) -> str:
    """A header value: plain when ASCII, else leading ASCII words kept and the rest encoded."""
    if value.isascii():
        return value
    first = next(i for i, char in enumerate(value) if not char.isascii())
    cut = value.rfind(" ", 0, first) + 1
    plain, rest = value[:cut], value[cut:]
    words = encoded_words(rest, encoding)
    if plain and len(plain) + len(words[0]) > 66:
        # Fold before the first encoded-word; unfolding gives back the single space.
        plain = plain.rstrip(" ") + "\n "
    return plain + "\n ".join(words)


def address(person: Person, encoding: Encoding) -> str:
    """`Name <addr>` with the name encoded when it is not ASCII."""
    if person.name.isascii():
        name = f'"{person.name}"' if re.search(r"[^\w \-]", person.name) else person.name
        return f"{name} <{person.address}>"
    return f"{header_text(person.name, encoding)} <{person.address}>"


def message_id(spec: Spec) -> str:
    """A fixed Message-ID in the style of the author's mailer."""
    digest = hashlib.sha256(spec.key.encode()).hexdigest()
    if spec.mailer == GMAIL:
        token = base64.b64encode(bytes.fromhex(digest[:40])).decode().replace("/", "_").replace("=", "")
        return f"<CA{token}@mail.gmail.com>"
    stamp = spec.when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    domain = spec.author.address.split("@", 1)[1]
    return f"<{stamp}.{digest[:12]}@{domain}>"


def rfc2822(moment: datetime) -> str:
    """A Date header value, independent of the locale."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return (
        f"{DAYS[moment.weekday()]}, {moment.day} {MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def ctime(moment: datetime) -> str:
    """`Tue Mar  5 10:00:00 2024`, the date form of mbox and pipermail separator lines."""
    return (
        f"{DAYS[moment.weekday()]} {MONTHS[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S} {moment.year}"
    )


# --------------------------------------------------------------------------------------------
# Bodies and quoting


def attribution(style: Quote, parent: Spec, reader: Person) -> str:
    """The line a mailer writes above a quoted message."""
    moment = parent.when.astimezone(reader.zone)
    who = parent.author
    if style == "gmail-uk":
        return (
            f"On {DAYS[moment.weekday()]}, {moment.day} {MONTHS[moment.month - 1]} {moment.year} "
            f"at {moment:%H:%M}, {who.name} <{who.address}> wrote:"
        )
    if style == "gmail-us":
        hour = moment.hour % 12 or 12
        half = "AM" if moment.hour < 12 else "PM"
        return (
            f"On {DAYS[moment.weekday()]}, {MONTHS[moment.month - 1]} {moment.day}, {moment.year} "
            f"at {hour}:{moment:%M} {half} {who.name} <{who.address}> wrote:"
        )
    if style == "thunderbird":
        return f"On {moment:%d/%m/%Y %H:%M}, {who.name} wrote:"
    if style == "ja-date":
        weekday = DAYS_JA[moment.weekday()]
        return f"{moment.year}年{moment.month}月{moment.day}日({weekday}) {moment:%H:%M} {who.name} <{who.address}>:"
    if style == "ja-san":
        return f"{who.family}さんは書きました:"
    raise ValueError(style)


def outlook_block(style: Quote, parent: Spec, reader: Person, body: str) -> str:
    """The unquoted original below an Outlook reply, in English or German."""
    moment = parent.when.astimezone(reader.zone)
    who = f"{parent.author.name} <{parent.author.address}>"
    if style == "outlook-de":
        sent = (
            f"{DAYS_DE[moment.weekday()]}, {moment.day}. {MONTHS_DE[moment.month - 1]} {moment.year} "
            f"{moment:%H:%M}"
        )
        head = [
            "-----Ursprüngliche Nachricht-----",
            f"Von: {who}",
            f"Gesendet: {sent}",
            f"An: {parent.mailing_list.address}",
            f"Betreff: {parent.subject}",
        ]
    else:
        hour = moment.hour % 12 or 12
        half = "AM" if moment.hour < 12 else "PM"
        sent = (
            f"{DAYS_LONG[moment.weekday()]}, {MONTHS_LONG[moment.month - 1]} {moment.day}, {moment.year} "
            f"{hour}:{moment:%M} {half}"
        )
        head = [
            "-----Original Message-----",
            f"From: {who}",
            f"Sent: {sent}",
            f"To: {parent.mailing_list.address}",
            f"Subject: {parent.subject}",
        ]
    return "\n".join(head) + "\n\n" + body


def quoted(body: str) -> str:
    """`body` with each line prefixed the way mailers quote (`> `, or `>` before an existing quote)."""
    lines = []
    for line in body.split("\n"):
        lines.append(">" + line if line.startswith(">") else "> " + line if line else ">")
    return "\n".join(lines)


def compose_body(spec: Spec, parent: Spec | None, parent_body: str | None) -> str:
    """What the author's mailer puts in the body, before the list adds its footer."""
    own = spec.words.rstrip("\n")
    if spec.signature:
        own += "\n\n-- \n" + spec.signature
    if parent is None or parent_body is None or spec.quote == "none":
        return own + "\n"
    if spec.quote in ("outlook", "outlook-de"):
        return own + "\n\n" + outlook_block(spec.quote, parent, spec.author, parent_body) + "\n"
    block = attribution(spec.quote, parent, spec.author) + "\n" + quoted(parent_body)
    if spec.layout == "top":
        return own + "\n\n" + block + "\n"
    return block + "\n\n" + own + "\n"


def transfer(data: bytes, encoding: Encoding) -> tuple[str, bytes]:
    """Content-Transfer-Encoding name and encoded bytes for a text part."""
    if encoding == "base64":
        return "base64", base64.encodebytes(data)
    if encoding == "qp":
        return "quoted-printable", quopri.encodestring(data)
    if encoding in ("8bit", "shift_jis"):
        return "8bit", data
    return "7bit", data


def text_part(body: str, encoding: Encoding, subtype: str = "plain") -> bytes:
    """A text/* MIME part (headers and body)."""
    label = CHARSETS[encoding][0]
    cte, payload = transfer(encode_chars(body, encoding), encoding)
    head = f'Content-Type: text/{subtype}; charset="{label}"\nContent-Transfer-Encoding: {cte}\n\n'
    return head.encode() + payload


def html_of(body: str) -> str:
    """A plain HTML rendering of a text body, as a mail client's rich editor would send it."""
    paragraphs = [html.escape(chunk).replace("\n", "<br>\n") for chunk in body.strip("\n").split("\n\n")]
    inner = "\n".join(f'<p class="MsoNormal">{chunk}</p>' for chunk in paragraphs)
    return (
        f'<html>\n<head>\n<meta charset="utf-8">\n</head>\n<body lang="EN-US">\n{inner}\n</body>\n</html>\n'
    )


def render(
    spec: Spec, body: str, ids: dict[str, str], refs: dict[str, list[str]], cc: Person | None
) -> bytes:
    """The full RFC 5322 message for `spec` with the already composed `body`; `cc` is copied in."""
    enc = spec.encoding
    mid = ids[spec.key]
    lines = [
        f"Message-ID: {mid}",
        f"Date: {rfc2822(spec.when)}",
        f"From: {address(spec.author, enc)}",
        f"To: {spec.mailing_list.address}",
    ]
    chain: list[str] = []
    if spec.parent is not None:
        parent_id = ids[spec.parent]
        chain = [*refs[spec.parent], parent_id]
        if cc is not None:
            lines.append(f"Cc: {address(cc, enc)}")
    lines.append("Subject: " + header_text(spec.subject, enc))
    if spec.parent is not None:
        if spec.threading == "broken-in-reply-to":
            # The mailer mangled the header: no closing bracket and a wrong host, so only the subject links it.
            lines.append("In-Reply-To: <20240311091500.GA21@mail.example.de")
            chain = []
        else:
            lines.append(f"In-Reply-To: {ids[spec.parent]}")
            if spec.threading == "full":
                lines.append("References: " + "\n ".join(chain))
            else:
                chain = []
    refs[spec.key] = chain
    lines.append(f"List-Id: {spec.mailing_list.list_id}")
    lines.append(f"List-Post: <mailto:{spec.mailing_list.address}>")
    if spec.mailer and spec.mailer != GMAIL:
        lines.append(spec.mailer)
    lines.append("MIME-Version: 1.0")
    footer = "\n" + spec.mailing_list.footer + "\n" if spec.footer else ""

    if spec.kind == "plain":
        head = "\n".join(lines) + "\n"
        return head.encode() + text_part(body + footer, enc)
    boundary = f"----=_Part_{hashlib.sha256(spec.key.encode()).hexdigest()[:16]}"
    if spec.kind == "alternative":
        parts = [text_part(body + footer, enc), text_part(html_of(body), enc, "html")]
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    else:
        if spec.attachment is None:
            raise ValueError(f"{spec.key}: attachment kind without an attachment")
        name, data = spec.attachment
        attached = (
            f'Content-Type: text/plain; charset="UTF-8"; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            "Content-Transfer-Encoding: base64\n\n"
        ).encode() + base64.encodebytes(data)
        parts = [text_part(body + footer, enc), attached]
        lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    out = ("\n".join(lines) + "\n\nThis is a multi-part message in MIME format.\n").encode()
    for part in parts:
        out += f"\n--{boundary}\n".encode() + part.rstrip(b"\n") + b"\n"
    return out + f"\n--{boundary}--\n".encode()


def build_messages(threads: Iterable[list[Spec]]) -> list[tuple[Spec, bytes]]:
    """Every message of every thread, rendered, in date order."""
    specs = [spec for thread in threads for spec in thread]
    by_key = {spec.key: spec for spec in specs}
    ids = {spec.key: message_id(spec) for spec in specs}
    if len(set(ids.values())) != len(ids):
        raise ValueError("two messages share a Message-ID")
    bodies: dict[str, str] = {}
    refs: dict[str, list[str]] = {}
    rendered: list[tuple[Spec, bytes]] = []
    for spec in specs:  # thread order: parents come before replies
        parent = by_key[spec.parent] if spec.parent else None
        body = compose_body(spec, parent, bodies.get(spec.parent) if spec.parent else None)
        bodies[spec.key] = body.rstrip("\n")
        cc = parent.author if parent is not None and spec.cc_parent else None
        rendered.append((spec, render(spec, body, ids, refs, cc)))
    rendered.sort(key=lambda item: item[0].when)
    return rendered


def broken_message() -> bytes:
    """A message whose header block was cut off, followed by binary garbage: readers must report and skip it."""
    state = 20240315
    garbage = bytearray()
    for index in range(420):
        state = (state * 1103515245 + 12345) % 2**31
        byte = (state >> 16) & 0xFF
        garbage.append(0x0A if index % 70 == 69 else byte if byte not in (0x0A, 0x0D) else 0x00)
    head = (
        b"Received: from mx2.example.net (mx2.example.net [192.0.2.44])\n"
        b"\tby lists.example.jp (Postfix) with ESMTP id 4TwQ2h\n"
        b"Content-Type: text/pl\n"
    )
    return head + bytes(garbage) + b"\n"


def mbox_bytes(messages: list[tuple[Spec, bytes]], broken_after: datetime) -> bytes:
    """An mboxo file: From_ separators, body lines starting with "From " escaped as ">From "."""
    out = bytearray()

    def add(sender: str, moment: datetime, raw: bytes) -> None:
        out.extend(f"From {sender} {ctime(moment.astimezone(UTC))}\n".encode())
        for line in raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"):
            out.extend((b">" + line if line.startswith(b"From ") else line) + b"\n")
        out.extend(b"\n")

    broken_done = False
    for spec, raw in messages:
        if not broken_done and spec.when > broken_after:
            add("MAILER-DAEMON", broken_after, broken_message())
            broken_done = True
        add(spec.author.address, spec.when, raw)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Mailman 2 pipermail month (Japanese list, EUC-JP)


@dataclass(frozen=True)
class PipermailPost:
    """One post of the pipermail month."""

    key: str
    author: Person
    when: datetime
    subject: str
    words: str
    parent: str | None = None


SCRUB_URL = "http://lists.example.jp/pipermail/cloudstack-ja/attachments"


def pipermail_posts() -> list[PipermailPost]:
    """Three threads of the Japanese list as pipermail archived them in March 2024."""
    tag = "[cloudstack-ja] "
    return [
        PipermailPost(
            "p1a",
            MORI,
            at(21, 10, 5, JST),
            tag + "KVM ホストからプライマリストレージに接続できません",
            text(f"""
                         森です。

                         プライマリストレージ (NFS) を追加すると、ホストの agent.log に
                         次のエラーが出て失敗します。

                         libvirt failed to mount storage pool 5c2f9a1e-7b3d-3e41-9a0c-2f6d8e1b4c77 at \
/mnt/5c2f9a1e-7b3d-3e41-9a0c-2f6d8e1b4c77

                         ホストから NFS サーバーに ping してみたところ、次のようになりました。

                         $ ping -c 2 192.168.30.5
                         PING 192.168.30.5 (192.168.30.5) 56(84) bytes of data.
                         From 192.168.30.21 icmp_seq=1 Destination Host Unreachable
                         From 192.168.30.21 icmp_seq=2 Destination Host Unreachable

                         環境は CloudStack 4.19.1.1、管理サーバーとホストは Ubuntu 22.04、KVM です。
                         agent.log を添付します。
                         -------------- next part --------------
                         A non-text attachment was scrubbed...
                         Name: agent.log.gz
                         Type: application/gzip
                         Size: 18234 bytes
                         Desc: not available
                         URL: <{SCRUB_URL}/20240321/8c1e4a2f/agent.log.gz>
                      """),
        ),
        PipermailPost(
            "p1b",
            YAMADA,
            at(21, 11, 40, JST),
            tag + "Re: KVM ホストからプライマリストレージに接続できません",
            text("""
                         山田です。

                         Destination Host Unreachable なので、NFS 以前にストレージ用の
                         ネットワークが通っていないようです。
                         ホストの cloudbr1 (ストレージ側のブリッジ) に IP が付いているか、
                         スイッチ側の VLAN 設定が合っているかを確認してみてください。
                      """),
            parent="p1a",
        ),
        PipermailPost(
            "p1c",
            MORI,
            at(21, 15, 30, JST),
            tag + "Re: KVM ホストからプライマリストレージに接続できません",
            text("""
                         森です。

                         スイッチのポートの VLAN ID が間違っていました。
                         直したところ ping が通り、プライマリストレージも Up になりました。
                         ありがとうございました。
                      """),
            parent="p1b",
        ),
        PipermailPost(
            "p2a",
            SHIMIZU,
            at(22, 9, 15, JST),
            tag + "新規インストール後に UI が 503 になります",
            text(f"""
                         清水と申します。

                         CloudStack 4.20.0.0 を Rocky Linux 9.4 に新規インストールしました。
                         ハイパーバイザーは KVM の予定です。
                         cloudstack-setup-management は最後まで成功したのですが、
                         ブラウザで http://管理サーバー:8080/client を開くと
                         HTTP ERROR 503 になります。

                         java -version は openjdk version "11.0.22" でした。
                         -------------- next part --------------
                         An HTML attachment was scrubbed...
                         URL: <{SCRUB_URL}/20240322/3b9d0f6c/attachment.html>
                      """),
        ),
        PipermailPost(
            "p2b",
            SATO,
            at(22, 10, 2, JST),
            tag + "Re: 新規インストール後に UI が 503 になります",
            text("""
                         佐藤です。

                         4.20 は Java 17 が必要です。

                         # dnf install java-17-openjdk
                         # alternatives --config java

                         で 17 を選んで、cloudstack-management を再起動してみてください。
                      """),
            parent="p2a",
        ),
        PipermailPost(
            "p2c",
            SHIMIZU,
            at(22, 13, 48, JST),
            tag + "Re: 新規インストール後に UI が 503 になります",
            text(f"""
                         清水です。

                         Java 17 に切り替えたところ、ログイン画面が表示されました。
                         ありがとうございました。
                         -------------- next part --------------
                         An HTML attachment was scrubbed...
                         URL: <{SCRUB_URL}/20240322/9e4a7c11/attachment.html>
                      """),
            parent="p2b",
        ),
        PipermailPost(
            "p3a",
            MATSUMOTO,
            at(25, 17, 0, JST),
            tag + "使用量データの集計方法",
            text("""
                         松本です。

                         usage サーバーのデータから、アカウントごとに月の VM 稼働時間を
                         集計したいと考えています。cloud_usage テーブルの raw_usage を
                         usage_type = 1 で合計すればよいのでしょうか。
                      """),
        ),
        PipermailPost(
            "p3b",
            ITO,
            at(25, 18, 20, JST),
            tag + "Re: 使用量データの集計方法",
            text("""
                         伊藤です。

                         usage_type = 1 (RUNNING_VM) の raw_usage は時間単位なので、
                         account_id ごとに合計すれば稼働時間になります。
                         API の listUsageRecords を使う方法もあります。
                      """),
            parent="p3a",
        ),
    ]


def obfuscated(person: Person) -> str:
    """`yamada at example.jp`, as pipermail hides addresses."""
    return person.address.replace("@", " at ")


def pipermail_bytes(posts: list[PipermailPost]) -> bytes:
    """The uncompressed pipermail text: strict From separators, no MIME headers, EUC-JP throughout."""
    ids = {
        post.key: f"<{post.when.strftime('%Y%m%d%H%M%S')}.{post.key}@{post.author.address.split('@')[1]}>"
        for post in posts
    }
    refs: dict[str, list[str]] = {}
    chunks: list[str] = []
    for post in posts:
        lines = [
            f"From {obfuscated(post.author)}  {ctime(post.when)}",
            f"From: {obfuscated(post.author)} ({post.author.name})",
            f"Date: {rfc2822(post.when)}",
            f"Subject: {post.subject}",
        ]
        chain: list[str] = []
        if post.parent is not None:
            chain = [*refs[post.parent], ids[post.parent]]
            lines.append(f"In-Reply-To: {ids[post.parent]}")
            lines.append("References: " + "\n\t".join(chain))
        refs[post.key] = chain
        lines.append(f"Message-ID: {ids[post.key]}")
        chunks.append("\n".join(lines) + "\n\n" + post.words.rstrip("\n") + "\n\n")
    return "".join(chunks).encode("euc_jp")


# --------------------------------------------------------------------------------------------
# Reading the files back


SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)(?:\[\d+\])?\s*[:：]|返信\s*[:：]|\[[^\]]*\])\s*", re.I)


def thread_subject(subject: str) -> str:
    """A subject without reply/forward prefixes and list tags, for threading by subject."""
    previous = None
    while previous != subject:
        previous = subject
        subject = SUBJECT_PREFIX.sub("", subject)
    return " ".join(subject.split())


def count_threads(entries: list[tuple[str, str | None, list[str], str]]) -> int:
    """Thread count from (message id, in-reply-to, references, subject) with a subject fallback."""
    root: dict[str, str] = {}

    def find(key: str) -> str:
        while root[key] != key:
            key = root[key]
        return key

    by_subject: dict[str, str] = {}
    for mid, reply_to, references, subject in entries:
        root[mid] = mid
        linked = [
            ref for ref in [*references, *([reply_to] if reply_to else [])] if ref in root and ref != mid
        ]
        for ref in linked:
            root[find(mid)] = find(ref)
        normal = thread_subject(subject)
        if not linked and normal in by_subject:
            root[find(mid)] = find(by_subject[normal])
        by_subject.setdefault(normal, mid)
    return len({find(mid) for mid in root})


ANGLE = re.compile(r"<([^<>\s]+)>")


def jis_to_sjis(row: int, cell: int) -> bytes:
    """The Shift_JIS (CP932) bytes for a JIS row/cell pair; the inverse of `sjis_to_jis`."""
    lead = (row + 1) // 2 + 0x70
    if lead >= 0xA0:
        lead += 0x40
    if row % 2:
        trail = cell + 0x1F
        if trail >= 0x7F:
            trail += 1
    else:
        trail = cell + 0x7E
    return bytes((lead, trail))


def decode_windows_iso2022jp(data: bytes) -> str:
    """Decode "ISO-2022-JP" the way Windows mailers meant it: double-byte runs read through CP932."""
    out = bytearray()
    double = False
    index = 0
    while index < len(data):
        if data[index] == 0x1B:
            double = data[index + 1 : index + 3] in (b"$B", b"$@")
            index += 3
        elif double and data[index] not in (0x0A, 0x0D):
            out += jis_to_sjis(data[index], data[index + 1])
            index += 2
        else:
            out.append(data[index])
            index += 1
    return out.decode("cp932")


def decode_text(part: Any) -> tuple[str, bool]:
    """A text part's content and whether it needed CP932 instead of its declared charset."""
    data: bytes = part.get_payload(decode=True)
    label = (part.get_content_charset() or "us-ascii").lower()
    try:
        return data.decode(label), False
    except UnicodeDecodeError:
        if label == "iso-2022-jp":
            return decode_windows_iso2022jp(data), True
        if label in ("shift_jis", "sjis"):
            return data.decode("cp932"), True
        raise


def check_mbox(path: Path) -> tuple[int, int, int, int]:
    """Read the mbox back: (readable messages, unreadable messages, threads, bodies needing CP932)."""
    box = mailbox.mbox(path, create=False)
    parser = BytesParser(policy=email.policy.default)
    entries: list[tuple[str, str | None, list[str], str]] = []
    broken = 0
    windows = 0
    try:
        for key in box.iterkeys():
            message = parser.parsebytes(box.get_bytes(key))
            if not (message["Message-ID"] and message["From"] and message["Date"]):
                broken += 1
                continue
            body = message.get_body(preferencelist=("plain",))
            if body is None:
                raise SystemExit(f"no text body in {message['Message-ID']}")
            content, needed_cp932 = decode_text(body)
            windows += needed_cp932
            if needed_cp932 and not any(char in content for char in "①㈱髙"):
                raise SystemExit(f"CP932 decoding of {message['Message-ID']} lost the Windows characters")
            reply = ANGLE.findall(str(message.get("In-Reply-To", "")))
            entries.append(
                (
                    ANGLE.findall(str(message["Message-ID"]))[0],
                    reply[0] if reply else None,
                    ANGLE.findall(str(message.get("References", ""))),
                    str(message["Subject"]),
                )
            )
    finally:
        box.close()
    return len(entries), broken, count_threads(entries), windows


PIPERMAIL_SEPARATOR = re.compile(
    rb"^From \S+ at \S+  (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rb"[ \d]\d \d\d:\d\d:\d\d \d{4}\n",
    re.M,
)


def check_pipermail(path: Path) -> tuple[int, int, int]:
    """Read the pipermail month back: (messages, threads, body lines starting "From " that are not separators)."""
    data = gzip.decompress(path.read_bytes())
    starts = [match.start() for match in PIPERMAIL_SEPARATOR.finditer(data)]
    if not starts or starts[0] != 0:
        raise SystemExit("pipermail text does not start with a separator line")
    entries: list[tuple[str, str | None, list[str], str]] = []
    lookalikes = 0
    for begin, end in zip(starts, [*starts[1:], len(data)], strict=True):
        chunk = data[begin:end].decode("euc_jp")
        head, _, body = chunk.partition("\n\n")
        headers: dict[str, str] = {}
        last = ""
        for line in head.split("\n")[1:]:
            if line[:1] in (" ", "\t"):
                headers[last] += " " + line.strip()
            else:
                last, _, value = line.partition(": ")
                headers[last] = value
        lookalikes += sum(1 for line in body.split("\n") if line.startswith("From "))
        reply = ANGLE.findall(headers.get("In-Reply-To", ""))
        entries.append(
            (
                ANGLE.findall(headers["Message-ID"])[0],
                reply[0] if reply else None,
                ANGLE.findall(headers.get("References", "")),
                headers["Subject"],
            )
        )
    return len(entries), count_threads(entries), lookalikes


def main() -> int:
    """Write both archive files, then read them back and print what they contain."""
    OUT.mkdir(parents=True, exist_ok=True)
    messages = build_messages([*english_threads(), *japanese_threads()])
    mbox_path = OUT / MBOX_NAME
    mbox_path.write_bytes(mbox_bytes(messages, broken_after=at(15, 3, 12, UTC, 44)))
    pipermail_path = OUT / PIPERMAIL_NAME
    pipermail_path.write_bytes(gzip.compress(pipermail_bytes(pipermail_posts()), mtime=0))

    readable, broken, threads, windows = check_mbox(mbox_path)
    print(
        f"{mbox_path.name}: {readable} readable messages in {threads} threads, {broken} unreadable, "
        f"{windows} decodable only through CP932"
    )
    posts, post_threads, lookalikes = check_pipermail(pipermail_path)
    print(
        f"{pipermail_path.name}: {posts} messages in {post_threads} threads, "
        f"{lookalikes} body lines starting with 'From ' that are not separators"
    )
    total, total_threads = readable + posts, threads + post_threads
    print(f"total: {total} messages in {total_threads} threads")
    if (
        total < 60
        or total_threads < 20
        or broken != 1
        or windows != 2
        or posts < 6
        or post_threads < 2
        or lookalikes < 1
    ):
        print("the archive is smaller than the samples promise", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
