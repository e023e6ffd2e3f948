using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// Records every JSON response of the REST API (<c>/api/…</c>) that a test host sends, with its endpoint's route
/// template, so that <see cref="ApiFactory"/> can check each body against swagger.json (<see cref="ResponseSchemaValidator"/>).
/// Bodies pass through unchanged; only the first <see cref="MaxBodyBytes"/> of a JSON body are kept.
/// </summary>
public sealed class ResponseRecorder
{
    public const int MaxBodyBytes = 4 << 20;

    private readonly ConcurrentQueue<RecordedResponse> _responses = new();

    public IReadOnlyCollection<RecordedResponse> Responses => _responses;

    /// <summary>The middleware, first in the pipeline.</summary>
    public IStartupFilter StartupFilter() => new Filter(this);

    private sealed class Filter(ResponseRecorder recorder) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(recorder.RecordAsync);
            next(app);
        };
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        Stream original = context.Response.Body;
        var tee = new TeeStream(original, context.Response);
        context.Response.Body = tee;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        // An exception handler clears the endpoint before it writes the problem; its feature keeps the endpoint.
        Endpoint? handled = context.GetEndpoint() ?? context.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        if (handled is RouteEndpoint endpoint && endpoint.RoutePattern.RawText is string route && (tee.Json || tee.Captured.Length == 0))
        {
            string body = tee.Truncated ? "" : Encoding.UTF8.GetString(tee.Captured.GetBuffer(), 0, (int)tee.Captured.Length);
            _responses.Enqueue(new RecordedResponse(context.Request.Method, route, context.Response.StatusCode, context.Response.ContentType, body));
        }
    }

    /// <summary>Writes through to the real body and keeps a copy of a JSON body.</summary>
    private sealed class TeeStream(Stream inner, HttpResponse response) : Stream
    {
        public MemoryStream Captured { get; } = new();

        public bool Truncated { get; private set; }

        public bool Json => response.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (!Json || Truncated)
            {
                return;
            }
            if (Captured.Length + bytes.Length > MaxBodyBytes)
            {
                Truncated = true;
                return;
            }
            Captured.Write(bytes);
        }
    }
}
