// A two-turn tool loop through one Node client, against the gateway (issue 13).
// Usage: node tool_loop.mjs <genai|ai-google|ai-compatible|openai> ; env GATEWAY, KEY, MODEL, STREAM=1|0.
// Prints the final answer's text; exits non-zero (with the error) when the loop does not complete.
import { GoogleGenAI } from "@google/genai";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText, tool, jsonSchema, stepCountIs } from "ai";
import OpenAI from "openai";

const { GATEWAY, KEY, MODEL } = process.env;
const STREAM = process.env.STREAM === "1";
const PROMPT = "Weather in Paris?";
const SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const weather = (city) => ({ temp_c: 21, city });

async function genai() {
  const client = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: `${GATEWAY}/antigravity` } });
  const config = { tools: [{ functionDeclarations: [{ name: "get_weather", parametersJsonSchema: SCHEMA }] }] };
  const question = { role: "user", parts: [{ text: PROMPT }] };
  let parts = [];
  if (STREAM) {
    for await (const chunk of await client.models.generateContentStream({ model: MODEL, contents: [question], config })) {
      parts.push(...(chunk.candidates?.[0]?.content?.parts ?? []));
    }
  } else {
    const answer = await client.models.generateContent({ model: MODEL, contents: [question], config });
    parts = answer.candidates[0].content.parts;
  }
  const call = parts.find((part) => part.functionCall)?.functionCall;
  if (!call) throw new Error(`no function call in ${JSON.stringify(parts)}`);
  const result = { role: "user", parts: [{ functionResponse: { name: call.name, id: call.id, response: weather(call.args.city) } }] };
  const answer = await client.models.generateContent({
    model: MODEL, contents: [question, { role: "model", parts }, result], config,
  });
  return answer.text;
}

async function aiSdk(model) {
  const tools = {
    get_weather: tool({ description: "The weather in a city", inputSchema: jsonSchema(SCHEMA), execute: async ({ city }) => weather(city) }),
  };
  const options = { model, tools, prompt: PROMPT, stopWhen: stepCountIs(3), maxRetries: 0 };
  if (STREAM) {
    const result = streamText({ ...options, onError: ({ error }) => { throw error; } });
    const text = await result.text;
    const steps = await result.steps;
    if (steps.length < 2) throw new Error(`the loop stopped after ${steps.length} step(s): ${(await result.finishReason)}`);
    return text;
  }
  const result = await generateText(options);
  if (result.steps.length < 2) throw new Error(`the loop stopped after ${result.steps.length} step(s): ${result.finishReason}`);
  return result.text;
}

async function openai() {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${GATEWAY}/antigravity/v1`, maxRetries: 0 });
  const tools = [{ type: "function", function: { name: "get_weather", parameters: SCHEMA } }];
  const messages = [{ role: "user", content: PROMPT }];
  let message;
  if (STREAM) {
    const calls = [];
    for await (const chunk of await client.chat.completions.create({ model: MODEL, messages, tools, stream: true })) {
      for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const entry = (calls[delta.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
        if (delta.id) entry.id = delta.id;
        entry.function.name += delta.function?.name ?? "";
        entry.function.arguments += delta.function?.arguments ?? "";
      }
    }
    message = { role: "assistant", content: null, tool_calls: calls };
  } else {
    message = (await client.chat.completions.create({ model: MODEL, messages, tools })).choices[0].message;
  }
  if (!message.tool_calls?.length) throw new Error(`no tool call in ${JSON.stringify(message)}`);
  messages.push(message);
  for (const call of message.tool_calls) {
    messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(weather(JSON.parse(call.function.arguments).city)) });
  }
  return (await client.chat.completions.create({ model: MODEL, messages, tools })).choices[0].message.content;
}

const clients = {
  genai,
  "ai-google": () => aiSdk(createGoogleGenerativeAI({ apiKey: KEY, baseURL: `${GATEWAY}/antigravity/v1beta` })(MODEL)),
  "ai-compatible": () =>
    aiSdk(createOpenAICompatible({ name: "switchyard", apiKey: KEY, baseURL: `${GATEWAY}/antigravity/v1` })(MODEL)),
  openai,
};

try {
  process.stdout.write(String(await clients[process.argv[2]]()));
} catch (error) {
  console.error(error?.stack ?? error);
  process.exit(1);
}
