import { create, createRegistry, type DescFile, type Registry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import * as v1 from './gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from './gen/grpc/reflection/v1alpha/reflection_pb.js';

/**
 * gRPC server reflection (grpc.reflection.v1 and the older v1alpha that many tools still ask
 * for), so that generic tools (grpcurl, Postman, grpcui, Kreya) can list the services and call
 * them without the .proto. No package fits: @grpc/reflection serves a @grpc/grpc-js server, not
 * a Connect router. It is small over @bufbuild/protobuf: the generated code embeds each file's
 * FileDescriptorProto (`DescFile.proto`), and a `FileRegistry` resolves files and symbols.
 *
 * Answers, as the reference implementations do: `list_services`, `file_by_filename` and
 * `file_containing_symbol` (the file and its transitive dependencies, serialized),
 * `file_containing_extension` (NOT_FOUND: the schema declares no extensions) and
 * `all_extension_numbers_of_type` (an empty list for a known message).
 */
export function reflectionRoutes(files: readonly DescFile[]): (router: ConnectRouter) => void {
  const all = [
    ...files,
    v1.file_grpc_reflection_v1_reflection,
    v1alpha.file_grpc_reflection_v1alpha_reflection,
  ].flatMap(withDependencies);
  const index: Index = {
    files: new Map(all.map((f) => [f.name, f])),
    types: createRegistry(...all),
  };
  const services = [...new Set(all.flatMap((f) => f.services.map((s) => s.typeName)))].sort();
  return (router) => {
    router.service(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield create(v1.ServerReflectionResponseSchema, answer(index, services, req) as never);
        }
      },
    });
    router.service(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          // The two versions have the same messages under other names.
          yield create(v1alpha.ServerReflectionResponseSchema, answer(index, services, req) as never);
        }
      },
    });
  };
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
type Answer = Omit<v1.ServerReflectionResponse, '$typeName' | 'originalRequest'> & {
  originalRequest: Request;
};

/** Files by name, and messages, enums, services and extensions by full name. */
interface Index {
  readonly files: ReadonlyMap<string, DescFile>;
  readonly types: Registry;
}

function answer(index: Index, services: readonly string[], req: Request): Answer {
  const base = { validHost: req.host, originalRequest: req };
  const notFound = (message: string): Answer => ({
    ...base,
    messageResponse: {
      case: 'errorResponse',
      value: create(v1.ErrorResponseSchema, { errorCode: Code.NotFound, errorMessage: message }),
    },
  });
  const files = (file: DescFile | undefined, what: string): Answer => {
    if (file === undefined) return notFound(`${what} not found`);
    const fileDescriptorProto = withDependencies(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
    return {
      ...base,
      messageResponse: {
        case: 'fileDescriptorResponse',
        value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto }),
      },
    };
  };
  const request = req.messageRequest;
  switch (request.case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: {
          case: 'listServicesResponse',
          value: create(v1.ListServiceResponseSchema, { service: services.map((name) => ({ name })) }),
        },
      };
    case 'fileByFilename':
      return files(index.files.get(request.value), `file ${request.value}`);
    case 'fileContainingSymbol':
      return files(fileOfSymbol(index.types, request.value), `symbol ${request.value}`);
    case 'fileContainingExtension':
      return notFound(`extension ${request.value.extensionNumber} of ${request.value.containingType} not found`);
    case 'allExtensionNumbersOfType': {
      if (index.types.getMessage(request.value) === undefined) return notFound(`type ${request.value} not found`);
      return {
        ...base,
        messageResponse: {
          case: 'allExtensionNumbersResponse',
          value: create(v1.ExtensionNumberResponseSchema, { baseTypeName: request.value, extensionNumber: [] }),
        },
      };
    }
    default:
      return {
        ...base,
        messageResponse: {
          case: 'errorResponse',
          value: create(v1.ErrorResponseSchema, {
            errorCode: Code.InvalidArgument,
            errorMessage: 'no message_request set',
          }),
        },
      };
  }
}

/** The file declaring a message, enum, service, method (`pkg.Service.Method`) or field/value name. */
function fileOfSymbol(types: Registry, symbol: string): DescFile | undefined {
  const name = symbol.startsWith('.') ? symbol.slice(1) : symbol;
  const desc = types.get(name);
  if (desc !== undefined) return desc.file;
  const dot = name.lastIndexOf('.');
  if (dot === -1) return undefined;
  const parent = types.get(name.slice(0, dot));
  if (parent === undefined) return undefined;
  const member = name.slice(dot + 1);
  const has =
    (parent.kind === 'service' && parent.methods.some((m) => m.name === member)) ||
    (parent.kind === 'message' && parent.fields.some((f) => f.name === member)) ||
    (parent.kind === 'enum' && parent.values.some((v) => v.name === member));
  return has ? parent.file : undefined;
}

/** `file` first, then every file it imports, transitively, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const out: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    out.push(f);
    for (const dep of f.dependencies) visit(dep);
  };
  visit(file);
  return out;
}
