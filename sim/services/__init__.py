"""Synthetic services: one asyncio server per protocol the scanner knows.

`SERVICES` maps each fingerprint label to its service class; calling the class with the
service's keyword options makes a service (`SERVICES["dns"](address="192.0.2.7")`). The
runner `python -m lzr_sim.services.serve` starts a list of them (see serve.py for its spec and
its READY line). docs/sim-services.md lists what each one imitates.
"""
from lzr_sim.services import (ajp13, amqp, bgp, cassandra, dnp3, dns, drda, enip, epmd, fox, ftp, git,
                          h2c, http, iec104, imap, ipmi, ipp, irc, java_rmi, jdwp, kafka,
                          kubernetes, ldap, memcached, modbus, mongodb, mqtt, mssql, mysql, nats,
                          nntp, opcua, openvpn, oracle, pjl, pop3, postgres, pptp, rdp, redis,
                          rsync, rtsp, siemens, sip, smb, smtp, socks5, ssh, stomp, telnet, tls,
                          vnc, xmpp, zookeeper)
from lzr_sim.services.base import Service

__all__ = ["SERVICES", "Service"]

_CLASSES: tuple[type[Service], ...] = (
    amqp.AmqpService, bgp.BgpService, dnp3.Dnp3Service, dns.DnsService, fox.FoxService,
    ftp.FtpService, http.HttpService, imap.ImapService, ipmi.IpmiService, ipp.IppService,
    kubernetes.KubernetesService, memcached.MemcachedService, memcached.MemcachedBinaryService,
    modbus.ModbusService, mongodb.MongodbService, mqtt.MqttService, mssql.MssqlService,
    mysql.MysqlService, oracle.OracleService, pop3.Pop3Service, postgres.PostgresService,
    pptp.PptpService, rdp.RdpService, redis.RedisService, rtsp.RtspService,
    siemens.SiemensService, smb.SmbService, smtp.SmtpService, ssh.SshService,
    telnet.TelnetService, tls.TlsService, vnc.VncService,
    # Beyond LZR's handshakes:
    ajp13.Ajp13Service, cassandra.CassandraService, drda.DrdaService, enip.EnipService,
    git.GitService, h2c.H2cService, irc.IrcService, java_rmi.JavaRmiService, jdwp.JdwpService,
    kafka.KafkaService, ldap.LdapService, nats.NatsService, nntp.NntpService, pjl.PjlService,
    rsync.RsyncService, sip.SipService, socks5.Socks5Service, xmpp.XmppService,
    zookeeper.ZookeeperService, epmd.EpmdService, openvpn.OpenvpnService, iec104.Iec104Service,
    opcua.OpcuaService, stomp.StompService,
)

SERVICES: dict[str, type[Service]] = {cls.label: cls for cls in _CLASSES}
