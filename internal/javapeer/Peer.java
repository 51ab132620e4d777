// A real ZMTP 2.0 peer for zloop's interop tests: one JeroMQ 0.3.x socket (Debian's
// libjeromq-java, which speaks ZMTP 2.0 as libzmq 3.2 did). Run with Java's single-file
// source launcher:
//
//	java -cp /usr/share/java/jeromq.jar Peer.java bind TYPE tcp://127.0.0.1
//	java -cp /usr/share/java/jeromq.jar Peer.java connect TYPE tcp://127.0.0.1:PORT
//
// It prints one line, "ok VERSION ENDPOINT" (the endpoint it bound, or the one it connects
// to), then keeps the socket open (JeroMQ reconnects and accepts on its own I/O thread) until
// its standard input ends, so a test that dies takes the peer with it.
import org.zeromq.ZMQ;

public class Peer {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Peer bind|connect TYPE ENDPOINT");
            System.exit(2);
        }
        int type;
        switch (args[1]) {
            case "PUSH": type = ZMQ.PUSH; break;
            case "PULL": type = ZMQ.PULL; break;
            case "PAIR": type = ZMQ.PAIR; break;
            case "DEALER": type = ZMQ.DEALER; break;
            case "ROUTER": type = ZMQ.ROUTER; break;
            case "PUB": type = ZMQ.PUB; break;
            case "SUB": type = ZMQ.SUB; break;
            case "REQ": type = ZMQ.REQ; break;
            case "REP": type = ZMQ.REP; break;
            default:
                System.err.println("unknown socket type " + args[1]);
                System.exit(2);
                return;
        }
        ZMQ.Context ctx = ZMQ.context(1);
        ZMQ.Socket s = ctx.socket(type);
        s.setLinger(0);
        String ep = args[2];
        if (args[0].equals("bind")) {
            int port = s.bindToRandomPort(ep);
            ep = ep + ":" + port;
        } else {
            s.connect(ep);
        }
        System.out.println("ok " + ZMQ.getVersionString() + " " + ep);
        System.out.flush();
        while (System.in.read() >= 0) {
            // Wait for the end of input.
        }
        s.close();
        ctx.term();
    }
}
