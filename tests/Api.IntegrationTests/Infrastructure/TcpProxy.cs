using System.Net;
using System.Net.Sockets;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder in front of the tests' PostgreSQL. <see cref="Stop"/> closes the listener and every
/// open connection, which to the Api is exactly a database that went down; <see cref="Start"/> brings it back
/// on the same port. Lets a test stop "the database" without stopping the server other tests share.
/// </summary>
public sealed class TcpProxy(string targetHost, int targetPort) : IDisposable
{
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;

    public int Port { get; private set; }

    /// <summary>
    /// Starts a proxy in front of the PostgreSQL server of <paramref name="connection"/> and returns it with the connection
    /// string that goes through it (short timeouts, so a cut database fails requests fast).
    /// </summary>
    public static (TcpProxy Proxy, string Connection) InFrontOfPostgres(string connection)
    {
        var target = new Npgsql.NpgsqlConnectionStringBuilder(connection);
        var proxy = new TcpProxy(target.Host!, target.Port);
        proxy.Start();
        return (proxy, new Npgsql.NpgsqlConnectionStringBuilder(connection) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3, CommandTimeout = 5 }.ConnectionString);
    }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync(_listener, _stop.Token);
    }

    public void Stop()
    {
        _stop?.Cancel();
        _listener?.Stop();
        lock (_connections)
        {
            foreach (TcpClient connection in _connections)
            {
                connection.Dispose();
            }
            _connections.Clear();
        }
    }

    public void Dispose() => Stop();

    private async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ForwardAsync(client, cancellationToken);
        }
    }

    private async Task ForwardAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var server = new TcpClient();
        lock (_connections)
        {
            _connections.Add(client);
            _connections.Add(server);
        }
        try
        {
            await server.ConnectAsync(targetHost, targetPort, cancellationToken);
            NetworkStream a = client.GetStream(), b = server.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, cancellationToken), b.CopyToAsync(a, cancellationToken));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }
}
