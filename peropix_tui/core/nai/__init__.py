"""NovelAI image API: models, presets, request builder, client, stream, cost, vibes, character reference."""
