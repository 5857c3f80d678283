# mistral-sov detection script for Intune Remediations, generated for Klinikum Beispielstadt AöR.
# Exit 0 = compliant, exit 1 = not compliant (Intune then runs remediate.ps1).
# Do not edit: regenerate with `mistral-sov policy export --format intune`.
$Values = @(
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign'; Name = 'DefaultEndpoint'; Kind = 'String'; Data = 'https://api.mistral.ai' },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign'; Name = 'EnforceLocalOnly'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign'; Name = 'BlockPublicAI'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'DnsOverHttpsMode'; Kind = 'String'; Data = 'off' },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'HelpMeWriteSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'TabCompareSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'HistorySearchSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'CreateThemesSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'DevToolsGenAiSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'AutofillPredictionSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'AutofillGenAiSettings'; Kind = 'DWord'; Data = 2 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'GeminiSettings'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'GeminiActOnWebSettings'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'AIModeSettings'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'GenAILocalFoundationalModelSettings'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome'; Name = 'BuiltInAIAPIsEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'DnsOverHttpsMode'; Kind = 'String'; Data = 'off' },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'HubsSidebarEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'CopilotPageContext'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'EdgeEntraCopilotPageContext'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'Microsoft365CopilotChatIconEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'CopilotAddressBarSuggestionsEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'CopilotNewTabPageEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'AllowBrowsingWithCopilot'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'GenAILocalFoundationalModelSettings'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge'; Name = 'BuiltInAIAPIsEnabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\DNSOverHTTPS'; Name = 'Enabled'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\DNSOverHTTPS'; Name = 'Locked'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\AIControls\Default'; Name = 'Value'; Kind = 'String'; Data = 'blocked' },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\AIControls\Default'; Name = 'Locked'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Windows\WindowsAI'; Name = 'DisableAIDataAnalysis'; Kind = 'DWord'; Data = 1 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Windows\WindowsAI'; Name = 'AllowRecallEnablement'; Kind = 'DWord'; Data = 0 },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Windows\WindowsAI'; Name = 'DisableClickToDo'; Kind = 'DWord'; Data = 1 }
)
$Lists = @(
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign\ApprovedEndpoints'; Named = $true; Entries = @(
        @{ N = 'mistral-eu'; D = 'https://api.mistral.ai' }
        @{ N = 'klinikum-llm'; D = 'https://llm.klinikum-beispiel.de:8443/v1' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign\AllowedRegions'; Named = $false; Entries = @(
        @{ N = '1'; D = 'azure:germanywestcentral' }
        @{ N = '2'; D = 'azure:francecentral' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mistral AI\Sovereign\ApprovedModels'; Named = $true; Entries = @(
        @{ N = 'mistral-7b-instruct-q4'; D = '3e0039fd0273fcbebb49228943b17831aadd55cbcbc6ec8a5ddd3d2c1ee0c1bb' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome\URLBlocklist'; Named = $false; Entries = @(
        @{ N = '1'; D = 'chatgpt.com' }
        @{ N = '2'; D = 'chat.openai.com' }
        @{ N = '3'; D = 'oaistatic.com' }
        @{ N = '4'; D = 'oaiusercontent.com' }
        @{ N = '5'; D = 'claude.ai' }
        @{ N = '6'; D = 'claude.com' }
        @{ N = '7'; D = 'claudeusercontent.com' }
        @{ N = '8'; D = 'gemini.google.com' }
        @{ N = '9'; D = 'gemini.google' }
        @{ N = '10'; D = 'bard.google.com' }
        @{ N = '11'; D = 'gemini.gstatic.com' }
        @{ N = '12'; D = 'copilot.microsoft.com' }
        @{ N = '13'; D = 'copilot.com' }
        @{ N = '14'; D = 'sydney.bing.com' }
        @{ N = '15'; D = 'copilot.cloud.microsoft' }
        @{ N = '16'; D = 'meta.ai' }
        @{ N = '17'; D = 'grok.com' }
        @{ N = '18'; D = 'chat.mistral.ai' }
        @{ N = '19'; D = 'deepseek.com' }
        @{ N = '20'; D = 'kimi.com' }
        @{ N = '21'; D = 'moonshot.cn' }
        @{ N = '22'; D = 'moonshot.ai' }
        @{ N = '23'; D = 'qwen.ai' }
        @{ N = '24'; D = 'qianwen.com' }
        @{ N = '25'; D = 'tongyi.com' }
        @{ N = '26'; D = 'tongyi.aliyun.com' }
        @{ N = '27'; D = 'doubao.com' }
        @{ N = '28'; D = 'dola.com' }
        @{ N = '29'; D = 'cici.com' }
        @{ N = '30'; D = 'ciciai.com' }
        @{ N = '31'; D = 'yiyan.baidu.com' }
        @{ N = '32'; D = 'yuanbao.tencent.com' }
        @{ N = '33'; D = 'chatglm.cn' }
        @{ N = '34'; D = 'z.ai' }
        @{ N = '35'; D = 'bigmodel.cn' }
        @{ N = '36'; D = 'minimax.io' }
        @{ N = '37'; D = 'minimaxi.com' }
        @{ N = '38'; D = 'minimax.chat' }
        @{ N = '39'; D = 'character.ai' }
        @{ N = '40'; D = 'c.ai' }
        @{ N = '41'; D = 'poe.com' }
        @{ N = '42'; D = 'pi.ai' }
        @{ N = '43'; D = 'duck.ai' }
        @{ N = '44'; D = 'cohere.com' }
        @{ N = '45'; D = 'cohere.ai' }
        @{ N = '46'; D = 'giga.chat' }
        @{ N = '47'; D = 'gigachat.devices.sberbank.ru' }
        @{ N = '48'; D = 'langdock.com' }
        @{ N = '49'; D = 'mammouth.ai' }
        @{ N = '50'; D = 'githubcopilot.com' }
        @{ N = '51'; D = 'copilot-proxy.githubusercontent.com' }
        @{ N = '52'; D = 'origin-tracker.githubusercontent.com' }
        @{ N = '53'; D = 'copilot-telemetry.githubusercontent.com' }
        @{ N = '54'; D = 'cursor.com' }
        @{ N = '55'; D = 'cursor.sh' }
        @{ N = '56'; D = 'windsurf.com' }
        @{ N = '57'; D = 'codeium.com' }
        @{ N = '58'; D = 'tabnine.com' }
        @{ N = '59'; D = 'jetbrains.ai' }
        @{ N = '60'; D = 'grazie.ai' }
        @{ N = '61'; D = 'grazie.aws.intellij.net' }
        @{ N = '62'; D = 'codewhisperer.us-east-1.amazonaws.com' }
        @{ N = '63'; D = 'q.us-east-1.amazonaws.com' }
        @{ N = '64'; D = 'q.eu-central-1.amazonaws.com' }
        @{ N = '65'; D = 'cloudaicompanion.googleapis.com' }
        @{ N = '66'; D = 'cloudcode-pa.googleapis.com' }
        @{ N = '67'; D = 'jules.google.com' }
        @{ N = '68'; D = 'jules.google' }
        @{ N = '69'; D = 'antigravity.google' }
        @{ N = '70'; D = 'codestral.mistral.ai' }
        @{ N = '71'; D = 'ampcode.com' }
        @{ N = '72'; D = 'augmentcode.com' }
        @{ N = '73'; D = 'replit.com' }
        @{ N = '74'; D = 'lovable.dev' }
        @{ N = '75'; D = 'bolt.new' }
        @{ N = '76'; D = 'v0.dev' }
        @{ N = '77'; D = 'v0.app' }
        @{ N = '78'; D = 'devin.ai' }
        @{ N = '79'; D = 'qodo.ai' }
        @{ N = '80'; D = 'codium.ai' }
        @{ N = '81'; D = 'coderabbit.ai' }
        @{ N = '82'; D = 'trae.ai' }
        @{ N = '83'; D = 'marscode.com' }
        @{ N = '84'; D = 'kiro.dev' }
        @{ N = '85'; D = 'base44.com' }
        @{ N = '86'; D = 'phind.com' }
        @{ N = '87'; D = 'midjourney.com' }
        @{ N = '88'; D = 'stability.ai' }
        @{ N = '89'; D = 'dreamstudio.ai' }
        @{ N = '90'; D = 'stableaudio.com' }
        @{ N = '91'; D = 'bfl.ai' }
        @{ N = '92'; D = 'bfl.ml' }
        @{ N = '93'; D = 'blackforestlabs.ai' }
        @{ N = '94'; D = 'leonardo.ai' }
        @{ N = '95'; D = 'ideogram.ai' }
        @{ N = '96'; D = 'playground.com' }
        @{ N = '97'; D = 'playgroundai.com' }
        @{ N = '98'; D = 'krea.ai' }
        @{ N = '99'; D = 'firefly.adobe.com' }
        @{ N = '100'; D = 'designer.microsoft.com' }
        @{ N = '101'; D = 'civitai.com' }
        @{ N = '102'; D = 'photoroom.com' }
        @{ N = '103'; D = 'remove.bg' }
        @{ N = '104'; D = 'magnific.ai' }
        @{ N = '105'; D = 'labs.google' }
        @{ N = '106'; D = 'flow.google' }
        @{ N = '107'; D = 'dreamina.capcut.com' }
        @{ N = '108'; D = 'sora.com' }
        @{ N = '109'; D = 'runwayml.com' }
        @{ N = '110'; D = 'pika.art' }
        @{ N = '111'; D = 'lumalabs.ai' }
        @{ N = '112'; D = 'klingai.com' }
        @{ N = '113'; D = 'hailuoai.video' }
        @{ N = '114'; D = 'hailuoai.com' }
        @{ N = '115'; D = 'vidu.com' }
        @{ N = '116'; D = 'vidu.studio' }
        @{ N = '117'; D = 'synthesia.io' }
        @{ N = '118'; D = 'heygen.com' }
        @{ N = '119'; D = 'd-id.com' }
        @{ N = '120'; D = 'elevenlabs.io' }
        @{ N = '121'; D = 'elevenlabs.com' }
        @{ N = '122'; D = 'suno.com' }
        @{ N = '123'; D = 'suno.ai' }
        @{ N = '124'; D = 'udio.com' }
        @{ N = '125'; D = 'descript.com' }
        @{ N = '126'; D = 'aiva.ai' }
        @{ N = '127'; D = 'moshi.chat' }
        @{ N = '128'; D = 'deepgram.com' }
        @{ N = '129'; D = 'assemblyai.com' }
        @{ N = '130'; D = 'gladia.io' }
        @{ N = '131'; D = 'perplexity.ai' }
        @{ N = '132'; D = 'pplx.ai' }
        @{ N = '133'; D = 'you.com' }
        @{ N = '134'; D = 'elicit.com' }
        @{ N = '135'; D = 'elicit.org' }
        @{ N = '136'; D = 'consensus.app' }
        @{ N = '137'; D = 'scite.ai' }
        @{ N = '138'; D = 'felo.ai' }
        @{ N = '139'; D = 'metaso.cn' }
        @{ N = '140'; D = 'exa.ai' }
        @{ N = '141'; D = 'genspark.ai' }
        @{ N = '142'; D = 'glean.com' }
        @{ N = '143'; D = 'jasper.ai' }
        @{ N = '144'; D = 'copy.ai' }
        @{ N = '145'; D = 'writesonic.com' }
        @{ N = '146'; D = 'quillbot.com' }
        @{ N = '147'; D = 'wordtune.com' }
        @{ N = '148'; D = 'sudowrite.com' }
        @{ N = '149'; D = 'novelai.net' }
        @{ N = '150'; D = 'writer.com' }
        @{ N = '151'; D = 'neuroflash.com' }
        @{ N = '152'; D = 'textcortex.com' }
        @{ N = '153'; D = 'manus.im' }
        @{ N = '154'; D = 'manuscdn.com' }
        @{ N = '155'; D = 'lindy.ai' }
        @{ N = '156'; D = 'relevanceai.com' }
        @{ N = '157'; D = 'dust.tt' }
        @{ N = '158'; D = 'hcompany.ai' }
        @{ N = '159'; D = 'botpress.com' }
        @{ N = '160'; D = 'voiceflow.com' }
        @{ N = '161'; D = 'coze.com' }
        @{ N = '162'; D = 'coze.cn' }
        @{ N = '163'; D = 'vapi.ai' }
        @{ N = '164'; D = 'api.openai.com' }
        @{ N = '165'; D = 'platform.openai.com' }
        @{ N = '166'; D = 'api.anthropic.com' }
        @{ N = '167'; D = 'console.anthropic.com' }
        @{ N = '168'; D = 'generativelanguage.googleapis.com' }
        @{ N = '169'; D = 'aistudio.google.com' }
        @{ N = '170'; D = 'makersuite.google.com' }
        @{ N = '171'; D = 'ai.studio' }
        @{ N = '172'; D = 'aiplatform.googleapis.com' }
        @{ N = '173'; D = 'us-central1-aiplatform.googleapis.com' }
        @{ N = '174'; D = 'europe-west1-aiplatform.googleapis.com' }
        @{ N = '175'; D = 'europe-west3-aiplatform.googleapis.com' }
        @{ N = '176'; D = 'europe-west4-aiplatform.googleapis.com' }
        @{ N = '177'; D = 'europe-west9-aiplatform.googleapis.com' }
        @{ N = '178'; D = 'openai.azure.com' }
        @{ N = '179'; D = 'oai.azure.com' }
        @{ N = '180'; D = 'bedrock-runtime.us-east-1.amazonaws.com' }
        @{ N = '181'; D = 'bedrock-runtime.us-west-2.amazonaws.com' }
        @{ N = '182'; D = 'bedrock-runtime.eu-central-1.amazonaws.com' }
        @{ N = '183'; D = 'bedrock-runtime.eu-west-1.amazonaws.com' }
        @{ N = '184'; D = 'bedrock-runtime.eu-west-3.amazonaws.com' }
        @{ N = '185'; D = 'console.mistral.ai' }
        @{ N = '186'; D = 'api.x.ai' }
        @{ N = '187'; D = 'console.x.ai' }
        @{ N = '188'; D = 'aleph-alpha.com' }
        @{ N = '189'; D = 'groq.com' }
        @{ N = '190'; D = 'together.ai' }
        @{ N = '191'; D = 'together.xyz' }
        @{ N = '192'; D = 'fireworks.ai' }
        @{ N = '193'; D = 'replicate.com' }
        @{ N = '194'; D = 'replicate.delivery' }
        @{ N = '195'; D = 'openrouter.ai' }
        @{ N = '196'; D = 'api-inference.huggingface.co' }
        @{ N = '197'; D = 'router.huggingface.co' }
        @{ N = '198'; D = 'integrate.api.nvidia.com' }
        @{ N = '199'; D = 'build.nvidia.com' }
        @{ N = '200'; D = 'ai21.com' }
        @{ N = '201'; D = 'dashscope.aliyuncs.com' }
        @{ N = '202'; D = 'dashscope-intl.aliyuncs.com' }
        @{ N = '203'; D = 'bailian.console.aliyun.com' }
        @{ N = '204'; D = 'qianfan.baidubce.com' }
        @{ N = '205'; D = 'siliconflow.cn' }
        @{ N = '206'; D = 'siliconflow.com' }
        @{ N = '207'; D = 'deepl.com' }
        @{ N = '208'; D = 'translate.google.com' }
        @{ N = '209'; D = 'translate.googleapis.com' }
        @{ N = '210'; D = 'translation.googleapis.com' }
        @{ N = '211'; D = 'translate.goog' }
        @{ N = '212'; D = 'microsofttranslator.com' }
        @{ N = '213'; D = 'translate.yandex.com' }
        @{ N = '214'; D = 'translate.yandex.ru' }
        @{ N = '215'; D = 'papago.naver.com' }
        @{ N = '216'; D = 'reverso.net' }
        @{ N = '217'; D = 'systran.net' }
        @{ N = '218'; D = 'modernmt.com' }
        @{ N = '219'; D = 'laratranslate.com' }
        @{ N = '220'; D = 'fanyi.baidu.com' }
        @{ N = '221'; D = 'fanyi.youdao.com' }
        @{ N = '222'; D = 'unbabel.com' }
        @{ N = '223'; D = 'notebooklm.google.com' }
        @{ N = '224'; D = 'notebooklm.google' }
        @{ N = '225'; D = 'gamma.app' }
        @{ N = '226'; D = 'napkin.ai' }
        @{ N = '227'; D = 'otter.ai' }
        @{ N = '228'; D = 'fireflies.ai' }
        @{ N = '229'; D = 'tldv.io' }
        @{ N = '230'; D = 'read.ai' }
        @{ N = '231'; D = 'granola.ai' }
        @{ N = '232'; D = 'taskade.com' }
        @{ N = '233'; D = 'chatpdf.com' }
        @{ N = '234'; D = 'chat.example-ai.com' }
        @{ N = '235'; D = 'assistant.example.net' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Google\Chrome\URLAllowlist'; Named = $false; Entries = @(
        @{ N = '1'; D = 'api.mistral.ai' }
        @{ N = '2'; D = 'llm.klinikum-beispiel.de' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge\URLBlocklist'; Named = $false; Entries = @(
        @{ N = '1'; D = 'chatgpt.com' }
        @{ N = '2'; D = 'chat.openai.com' }
        @{ N = '3'; D = 'oaistatic.com' }
        @{ N = '4'; D = 'oaiusercontent.com' }
        @{ N = '5'; D = 'claude.ai' }
        @{ N = '6'; D = 'claude.com' }
        @{ N = '7'; D = 'claudeusercontent.com' }
        @{ N = '8'; D = 'gemini.google.com' }
        @{ N = '9'; D = 'gemini.google' }
        @{ N = '10'; D = 'bard.google.com' }
        @{ N = '11'; D = 'gemini.gstatic.com' }
        @{ N = '12'; D = 'copilot.microsoft.com' }
        @{ N = '13'; D = 'copilot.com' }
        @{ N = '14'; D = 'sydney.bing.com' }
        @{ N = '15'; D = 'copilot.cloud.microsoft' }
        @{ N = '16'; D = 'meta.ai' }
        @{ N = '17'; D = 'grok.com' }
        @{ N = '18'; D = 'chat.mistral.ai' }
        @{ N = '19'; D = 'deepseek.com' }
        @{ N = '20'; D = 'kimi.com' }
        @{ N = '21'; D = 'moonshot.cn' }
        @{ N = '22'; D = 'moonshot.ai' }
        @{ N = '23'; D = 'qwen.ai' }
        @{ N = '24'; D = 'qianwen.com' }
        @{ N = '25'; D = 'tongyi.com' }
        @{ N = '26'; D = 'tongyi.aliyun.com' }
        @{ N = '27'; D = 'doubao.com' }
        @{ N = '28'; D = 'dola.com' }
        @{ N = '29'; D = 'cici.com' }
        @{ N = '30'; D = 'ciciai.com' }
        @{ N = '31'; D = 'yiyan.baidu.com' }
        @{ N = '32'; D = 'yuanbao.tencent.com' }
        @{ N = '33'; D = 'chatglm.cn' }
        @{ N = '34'; D = 'z.ai' }
        @{ N = '35'; D = 'bigmodel.cn' }
        @{ N = '36'; D = 'minimax.io' }
        @{ N = '37'; D = 'minimaxi.com' }
        @{ N = '38'; D = 'minimax.chat' }
        @{ N = '39'; D = 'character.ai' }
        @{ N = '40'; D = 'c.ai' }
        @{ N = '41'; D = 'poe.com' }
        @{ N = '42'; D = 'pi.ai' }
        @{ N = '43'; D = 'duck.ai' }
        @{ N = '44'; D = 'cohere.com' }
        @{ N = '45'; D = 'cohere.ai' }
        @{ N = '46'; D = 'giga.chat' }
        @{ N = '47'; D = 'gigachat.devices.sberbank.ru' }
        @{ N = '48'; D = 'langdock.com' }
        @{ N = '49'; D = 'mammouth.ai' }
        @{ N = '50'; D = 'githubcopilot.com' }
        @{ N = '51'; D = 'copilot-proxy.githubusercontent.com' }
        @{ N = '52'; D = 'origin-tracker.githubusercontent.com' }
        @{ N = '53'; D = 'copilot-telemetry.githubusercontent.com' }
        @{ N = '54'; D = 'cursor.com' }
        @{ N = '55'; D = 'cursor.sh' }
        @{ N = '56'; D = 'windsurf.com' }
        @{ N = '57'; D = 'codeium.com' }
        @{ N = '58'; D = 'tabnine.com' }
        @{ N = '59'; D = 'jetbrains.ai' }
        @{ N = '60'; D = 'grazie.ai' }
        @{ N = '61'; D = 'grazie.aws.intellij.net' }
        @{ N = '62'; D = 'codewhisperer.us-east-1.amazonaws.com' }
        @{ N = '63'; D = 'q.us-east-1.amazonaws.com' }
        @{ N = '64'; D = 'q.eu-central-1.amazonaws.com' }
        @{ N = '65'; D = 'cloudaicompanion.googleapis.com' }
        @{ N = '66'; D = 'cloudcode-pa.googleapis.com' }
        @{ N = '67'; D = 'jules.google.com' }
        @{ N = '68'; D = 'jules.google' }
        @{ N = '69'; D = 'antigravity.google' }
        @{ N = '70'; D = 'codestral.mistral.ai' }
        @{ N = '71'; D = 'ampcode.com' }
        @{ N = '72'; D = 'augmentcode.com' }
        @{ N = '73'; D = 'replit.com' }
        @{ N = '74'; D = 'lovable.dev' }
        @{ N = '75'; D = 'bolt.new' }
        @{ N = '76'; D = 'v0.dev' }
        @{ N = '77'; D = 'v0.app' }
        @{ N = '78'; D = 'devin.ai' }
        @{ N = '79'; D = 'qodo.ai' }
        @{ N = '80'; D = 'codium.ai' }
        @{ N = '81'; D = 'coderabbit.ai' }
        @{ N = '82'; D = 'trae.ai' }
        @{ N = '83'; D = 'marscode.com' }
        @{ N = '84'; D = 'kiro.dev' }
        @{ N = '85'; D = 'base44.com' }
        @{ N = '86'; D = 'phind.com' }
        @{ N = '87'; D = 'midjourney.com' }
        @{ N = '88'; D = 'stability.ai' }
        @{ N = '89'; D = 'dreamstudio.ai' }
        @{ N = '90'; D = 'stableaudio.com' }
        @{ N = '91'; D = 'bfl.ai' }
        @{ N = '92'; D = 'bfl.ml' }
        @{ N = '93'; D = 'blackforestlabs.ai' }
        @{ N = '94'; D = 'leonardo.ai' }
        @{ N = '95'; D = 'ideogram.ai' }
        @{ N = '96'; D = 'playground.com' }
        @{ N = '97'; D = 'playgroundai.com' }
        @{ N = '98'; D = 'krea.ai' }
        @{ N = '99'; D = 'firefly.adobe.com' }
        @{ N = '100'; D = 'designer.microsoft.com' }
        @{ N = '101'; D = 'civitai.com' }
        @{ N = '102'; D = 'photoroom.com' }
        @{ N = '103'; D = 'remove.bg' }
        @{ N = '104'; D = 'magnific.ai' }
        @{ N = '105'; D = 'labs.google' }
        @{ N = '106'; D = 'flow.google' }
        @{ N = '107'; D = 'dreamina.capcut.com' }
        @{ N = '108'; D = 'sora.com' }
        @{ N = '109'; D = 'runwayml.com' }
        @{ N = '110'; D = 'pika.art' }
        @{ N = '111'; D = 'lumalabs.ai' }
        @{ N = '112'; D = 'klingai.com' }
        @{ N = '113'; D = 'hailuoai.video' }
        @{ N = '114'; D = 'hailuoai.com' }
        @{ N = '115'; D = 'vidu.com' }
        @{ N = '116'; D = 'vidu.studio' }
        @{ N = '117'; D = 'synthesia.io' }
        @{ N = '118'; D = 'heygen.com' }
        @{ N = '119'; D = 'd-id.com' }
        @{ N = '120'; D = 'elevenlabs.io' }
        @{ N = '121'; D = 'elevenlabs.com' }
        @{ N = '122'; D = 'suno.com' }
        @{ N = '123'; D = 'suno.ai' }
        @{ N = '124'; D = 'udio.com' }
        @{ N = '125'; D = 'descript.com' }
        @{ N = '126'; D = 'aiva.ai' }
        @{ N = '127'; D = 'moshi.chat' }
        @{ N = '128'; D = 'deepgram.com' }
        @{ N = '129'; D = 'assemblyai.com' }
        @{ N = '130'; D = 'gladia.io' }
        @{ N = '131'; D = 'perplexity.ai' }
        @{ N = '132'; D = 'pplx.ai' }
        @{ N = '133'; D = 'you.com' }
        @{ N = '134'; D = 'elicit.com' }
        @{ N = '135'; D = 'elicit.org' }
        @{ N = '136'; D = 'consensus.app' }
        @{ N = '137'; D = 'scite.ai' }
        @{ N = '138'; D = 'felo.ai' }
        @{ N = '139'; D = 'metaso.cn' }
        @{ N = '140'; D = 'exa.ai' }
        @{ N = '141'; D = 'genspark.ai' }
        @{ N = '142'; D = 'glean.com' }
        @{ N = '143'; D = 'jasper.ai' }
        @{ N = '144'; D = 'copy.ai' }
        @{ N = '145'; D = 'writesonic.com' }
        @{ N = '146'; D = 'quillbot.com' }
        @{ N = '147'; D = 'wordtune.com' }
        @{ N = '148'; D = 'sudowrite.com' }
        @{ N = '149'; D = 'novelai.net' }
        @{ N = '150'; D = 'writer.com' }
        @{ N = '151'; D = 'neuroflash.com' }
        @{ N = '152'; D = 'textcortex.com' }
        @{ N = '153'; D = 'manus.im' }
        @{ N = '154'; D = 'manuscdn.com' }
        @{ N = '155'; D = 'lindy.ai' }
        @{ N = '156'; D = 'relevanceai.com' }
        @{ N = '157'; D = 'dust.tt' }
        @{ N = '158'; D = 'hcompany.ai' }
        @{ N = '159'; D = 'botpress.com' }
        @{ N = '160'; D = 'voiceflow.com' }
        @{ N = '161'; D = 'coze.com' }
        @{ N = '162'; D = 'coze.cn' }
        @{ N = '163'; D = 'vapi.ai' }
        @{ N = '164'; D = 'api.openai.com' }
        @{ N = '165'; D = 'platform.openai.com' }
        @{ N = '166'; D = 'api.anthropic.com' }
        @{ N = '167'; D = 'console.anthropic.com' }
        @{ N = '168'; D = 'generativelanguage.googleapis.com' }
        @{ N = '169'; D = 'aistudio.google.com' }
        @{ N = '170'; D = 'makersuite.google.com' }
        @{ N = '171'; D = 'ai.studio' }
        @{ N = '172'; D = 'aiplatform.googleapis.com' }
        @{ N = '173'; D = 'us-central1-aiplatform.googleapis.com' }
        @{ N = '174'; D = 'europe-west1-aiplatform.googleapis.com' }
        @{ N = '175'; D = 'europe-west3-aiplatform.googleapis.com' }
        @{ N = '176'; D = 'europe-west4-aiplatform.googleapis.com' }
        @{ N = '177'; D = 'europe-west9-aiplatform.googleapis.com' }
        @{ N = '178'; D = 'openai.azure.com' }
        @{ N = '179'; D = 'oai.azure.com' }
        @{ N = '180'; D = 'bedrock-runtime.us-east-1.amazonaws.com' }
        @{ N = '181'; D = 'bedrock-runtime.us-west-2.amazonaws.com' }
        @{ N = '182'; D = 'bedrock-runtime.eu-central-1.amazonaws.com' }
        @{ N = '183'; D = 'bedrock-runtime.eu-west-1.amazonaws.com' }
        @{ N = '184'; D = 'bedrock-runtime.eu-west-3.amazonaws.com' }
        @{ N = '185'; D = 'console.mistral.ai' }
        @{ N = '186'; D = 'api.x.ai' }
        @{ N = '187'; D = 'console.x.ai' }
        @{ N = '188'; D = 'aleph-alpha.com' }
        @{ N = '189'; D = 'groq.com' }
        @{ N = '190'; D = 'together.ai' }
        @{ N = '191'; D = 'together.xyz' }
        @{ N = '192'; D = 'fireworks.ai' }
        @{ N = '193'; D = 'replicate.com' }
        @{ N = '194'; D = 'replicate.delivery' }
        @{ N = '195'; D = 'openrouter.ai' }
        @{ N = '196'; D = 'api-inference.huggingface.co' }
        @{ N = '197'; D = 'router.huggingface.co' }
        @{ N = '198'; D = 'integrate.api.nvidia.com' }
        @{ N = '199'; D = 'build.nvidia.com' }
        @{ N = '200'; D = 'ai21.com' }
        @{ N = '201'; D = 'dashscope.aliyuncs.com' }
        @{ N = '202'; D = 'dashscope-intl.aliyuncs.com' }
        @{ N = '203'; D = 'bailian.console.aliyun.com' }
        @{ N = '204'; D = 'qianfan.baidubce.com' }
        @{ N = '205'; D = 'siliconflow.cn' }
        @{ N = '206'; D = 'siliconflow.com' }
        @{ N = '207'; D = 'deepl.com' }
        @{ N = '208'; D = 'translate.google.com' }
        @{ N = '209'; D = 'translate.googleapis.com' }
        @{ N = '210'; D = 'translation.googleapis.com' }
        @{ N = '211'; D = 'translate.goog' }
        @{ N = '212'; D = 'microsofttranslator.com' }
        @{ N = '213'; D = 'translate.yandex.com' }
        @{ N = '214'; D = 'translate.yandex.ru' }
        @{ N = '215'; D = 'papago.naver.com' }
        @{ N = '216'; D = 'reverso.net' }
        @{ N = '217'; D = 'systran.net' }
        @{ N = '218'; D = 'modernmt.com' }
        @{ N = '219'; D = 'laratranslate.com' }
        @{ N = '220'; D = 'fanyi.baidu.com' }
        @{ N = '221'; D = 'fanyi.youdao.com' }
        @{ N = '222'; D = 'unbabel.com' }
        @{ N = '223'; D = 'notebooklm.google.com' }
        @{ N = '224'; D = 'notebooklm.google' }
        @{ N = '225'; D = 'gamma.app' }
        @{ N = '226'; D = 'napkin.ai' }
        @{ N = '227'; D = 'otter.ai' }
        @{ N = '228'; D = 'fireflies.ai' }
        @{ N = '229'; D = 'tldv.io' }
        @{ N = '230'; D = 'read.ai' }
        @{ N = '231'; D = 'granola.ai' }
        @{ N = '232'; D = 'taskade.com' }
        @{ N = '233'; D = 'chatpdf.com' }
        @{ N = '234'; D = 'chat.example-ai.com' }
        @{ N = '235'; D = 'assistant.example.net' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Microsoft\Edge\URLAllowlist'; Named = $false; Entries = @(
        @{ N = '1'; D = 'api.mistral.ai' }
        @{ N = '2'; D = 'llm.klinikum-beispiel.de' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\WebsiteFilter\Block'; Named = $false; Entries = @(
        @{ N = '1'; D = '*://*.chatgpt.com/*' }
        @{ N = '2'; D = '*://*.chat.openai.com/*' }
        @{ N = '3'; D = '*://*.oaistatic.com/*' }
        @{ N = '4'; D = '*://*.oaiusercontent.com/*' }
        @{ N = '5'; D = '*://*.claude.ai/*' }
        @{ N = '6'; D = '*://*.claude.com/*' }
        @{ N = '7'; D = '*://*.claudeusercontent.com/*' }
        @{ N = '8'; D = '*://*.gemini.google.com/*' }
        @{ N = '9'; D = '*://*.gemini.google/*' }
        @{ N = '10'; D = '*://*.bard.google.com/*' }
        @{ N = '11'; D = '*://*.gemini.gstatic.com/*' }
        @{ N = '12'; D = '*://*.copilot.microsoft.com/*' }
        @{ N = '13'; D = '*://*.copilot.com/*' }
        @{ N = '14'; D = '*://*.sydney.bing.com/*' }
        @{ N = '15'; D = '*://*.copilot.cloud.microsoft/*' }
        @{ N = '16'; D = '*://*.meta.ai/*' }
        @{ N = '17'; D = '*://*.grok.com/*' }
        @{ N = '18'; D = '*://*.chat.mistral.ai/*' }
        @{ N = '19'; D = '*://*.deepseek.com/*' }
        @{ N = '20'; D = '*://*.kimi.com/*' }
        @{ N = '21'; D = '*://*.moonshot.cn/*' }
        @{ N = '22'; D = '*://*.moonshot.ai/*' }
        @{ N = '23'; D = '*://*.qwen.ai/*' }
        @{ N = '24'; D = '*://*.qianwen.com/*' }
        @{ N = '25'; D = '*://*.tongyi.com/*' }
        @{ N = '26'; D = '*://*.tongyi.aliyun.com/*' }
        @{ N = '27'; D = '*://*.doubao.com/*' }
        @{ N = '28'; D = '*://*.dola.com/*' }
        @{ N = '29'; D = '*://*.cici.com/*' }
        @{ N = '30'; D = '*://*.ciciai.com/*' }
        @{ N = '31'; D = '*://*.yiyan.baidu.com/*' }
        @{ N = '32'; D = '*://*.yuanbao.tencent.com/*' }
        @{ N = '33'; D = '*://*.chatglm.cn/*' }
        @{ N = '34'; D = '*://*.z.ai/*' }
        @{ N = '35'; D = '*://*.bigmodel.cn/*' }
        @{ N = '36'; D = '*://*.minimax.io/*' }
        @{ N = '37'; D = '*://*.minimaxi.com/*' }
        @{ N = '38'; D = '*://*.minimax.chat/*' }
        @{ N = '39'; D = '*://*.character.ai/*' }
        @{ N = '40'; D = '*://*.c.ai/*' }
        @{ N = '41'; D = '*://*.poe.com/*' }
        @{ N = '42'; D = '*://*.pi.ai/*' }
        @{ N = '43'; D = '*://*.duck.ai/*' }
        @{ N = '44'; D = '*://*.cohere.com/*' }
        @{ N = '45'; D = '*://*.cohere.ai/*' }
        @{ N = '46'; D = '*://*.giga.chat/*' }
        @{ N = '47'; D = '*://*.gigachat.devices.sberbank.ru/*' }
        @{ N = '48'; D = '*://*.langdock.com/*' }
        @{ N = '49'; D = '*://*.mammouth.ai/*' }
        @{ N = '50'; D = '*://*.githubcopilot.com/*' }
        @{ N = '51'; D = '*://*.copilot-proxy.githubusercontent.com/*' }
        @{ N = '52'; D = '*://*.origin-tracker.githubusercontent.com/*' }
        @{ N = '53'; D = '*://*.copilot-telemetry.githubusercontent.com/*' }
        @{ N = '54'; D = '*://*.cursor.com/*' }
        @{ N = '55'; D = '*://*.cursor.sh/*' }
        @{ N = '56'; D = '*://*.windsurf.com/*' }
        @{ N = '57'; D = '*://*.codeium.com/*' }
        @{ N = '58'; D = '*://*.tabnine.com/*' }
        @{ N = '59'; D = '*://*.jetbrains.ai/*' }
        @{ N = '60'; D = '*://*.grazie.ai/*' }
        @{ N = '61'; D = '*://*.grazie.aws.intellij.net/*' }
        @{ N = '62'; D = '*://*.codewhisperer.us-east-1.amazonaws.com/*' }
        @{ N = '63'; D = '*://*.q.us-east-1.amazonaws.com/*' }
        @{ N = '64'; D = '*://*.q.eu-central-1.amazonaws.com/*' }
        @{ N = '65'; D = '*://*.cloudaicompanion.googleapis.com/*' }
        @{ N = '66'; D = '*://*.cloudcode-pa.googleapis.com/*' }
        @{ N = '67'; D = '*://*.jules.google.com/*' }
        @{ N = '68'; D = '*://*.jules.google/*' }
        @{ N = '69'; D = '*://*.antigravity.google/*' }
        @{ N = '70'; D = '*://*.codestral.mistral.ai/*' }
        @{ N = '71'; D = '*://*.ampcode.com/*' }
        @{ N = '72'; D = '*://*.augmentcode.com/*' }
        @{ N = '73'; D = '*://*.replit.com/*' }
        @{ N = '74'; D = '*://*.lovable.dev/*' }
        @{ N = '75'; D = '*://*.bolt.new/*' }
        @{ N = '76'; D = '*://*.v0.dev/*' }
        @{ N = '77'; D = '*://*.v0.app/*' }
        @{ N = '78'; D = '*://*.devin.ai/*' }
        @{ N = '79'; D = '*://*.qodo.ai/*' }
        @{ N = '80'; D = '*://*.codium.ai/*' }
        @{ N = '81'; D = '*://*.coderabbit.ai/*' }
        @{ N = '82'; D = '*://*.trae.ai/*' }
        @{ N = '83'; D = '*://*.marscode.com/*' }
        @{ N = '84'; D = '*://*.kiro.dev/*' }
        @{ N = '85'; D = '*://*.base44.com/*' }
        @{ N = '86'; D = '*://*.phind.com/*' }
        @{ N = '87'; D = '*://*.midjourney.com/*' }
        @{ N = '88'; D = '*://*.stability.ai/*' }
        @{ N = '89'; D = '*://*.dreamstudio.ai/*' }
        @{ N = '90'; D = '*://*.stableaudio.com/*' }
        @{ N = '91'; D = '*://*.bfl.ai/*' }
        @{ N = '92'; D = '*://*.bfl.ml/*' }
        @{ N = '93'; D = '*://*.blackforestlabs.ai/*' }
        @{ N = '94'; D = '*://*.leonardo.ai/*' }
        @{ N = '95'; D = '*://*.ideogram.ai/*' }
        @{ N = '96'; D = '*://*.playground.com/*' }
        @{ N = '97'; D = '*://*.playgroundai.com/*' }
        @{ N = '98'; D = '*://*.krea.ai/*' }
        @{ N = '99'; D = '*://*.firefly.adobe.com/*' }
        @{ N = '100'; D = '*://*.designer.microsoft.com/*' }
        @{ N = '101'; D = '*://*.civitai.com/*' }
        @{ N = '102'; D = '*://*.photoroom.com/*' }
        @{ N = '103'; D = '*://*.remove.bg/*' }
        @{ N = '104'; D = '*://*.magnific.ai/*' }
        @{ N = '105'; D = '*://*.labs.google/*' }
        @{ N = '106'; D = '*://*.flow.google/*' }
        @{ N = '107'; D = '*://*.dreamina.capcut.com/*' }
        @{ N = '108'; D = '*://*.sora.com/*' }
        @{ N = '109'; D = '*://*.runwayml.com/*' }
        @{ N = '110'; D = '*://*.pika.art/*' }
        @{ N = '111'; D = '*://*.lumalabs.ai/*' }
        @{ N = '112'; D = '*://*.klingai.com/*' }
        @{ N = '113'; D = '*://*.hailuoai.video/*' }
        @{ N = '114'; D = '*://*.hailuoai.com/*' }
        @{ N = '115'; D = '*://*.vidu.com/*' }
        @{ N = '116'; D = '*://*.vidu.studio/*' }
        @{ N = '117'; D = '*://*.synthesia.io/*' }
        @{ N = '118'; D = '*://*.heygen.com/*' }
        @{ N = '119'; D = '*://*.d-id.com/*' }
        @{ N = '120'; D = '*://*.elevenlabs.io/*' }
        @{ N = '121'; D = '*://*.elevenlabs.com/*' }
        @{ N = '122'; D = '*://*.suno.com/*' }
        @{ N = '123'; D = '*://*.suno.ai/*' }
        @{ N = '124'; D = '*://*.udio.com/*' }
        @{ N = '125'; D = '*://*.descript.com/*' }
        @{ N = '126'; D = '*://*.aiva.ai/*' }
        @{ N = '127'; D = '*://*.moshi.chat/*' }
        @{ N = '128'; D = '*://*.deepgram.com/*' }
        @{ N = '129'; D = '*://*.assemblyai.com/*' }
        @{ N = '130'; D = '*://*.gladia.io/*' }
        @{ N = '131'; D = '*://*.perplexity.ai/*' }
        @{ N = '132'; D = '*://*.pplx.ai/*' }
        @{ N = '133'; D = '*://*.you.com/*' }
        @{ N = '134'; D = '*://*.elicit.com/*' }
        @{ N = '135'; D = '*://*.elicit.org/*' }
        @{ N = '136'; D = '*://*.consensus.app/*' }
        @{ N = '137'; D = '*://*.scite.ai/*' }
        @{ N = '138'; D = '*://*.felo.ai/*' }
        @{ N = '139'; D = '*://*.metaso.cn/*' }
        @{ N = '140'; D = '*://*.exa.ai/*' }
        @{ N = '141'; D = '*://*.genspark.ai/*' }
        @{ N = '142'; D = '*://*.glean.com/*' }
        @{ N = '143'; D = '*://*.jasper.ai/*' }
        @{ N = '144'; D = '*://*.copy.ai/*' }
        @{ N = '145'; D = '*://*.writesonic.com/*' }
        @{ N = '146'; D = '*://*.quillbot.com/*' }
        @{ N = '147'; D = '*://*.wordtune.com/*' }
        @{ N = '148'; D = '*://*.sudowrite.com/*' }
        @{ N = '149'; D = '*://*.novelai.net/*' }
        @{ N = '150'; D = '*://*.writer.com/*' }
        @{ N = '151'; D = '*://*.neuroflash.com/*' }
        @{ N = '152'; D = '*://*.textcortex.com/*' }
        @{ N = '153'; D = '*://*.manus.im/*' }
        @{ N = '154'; D = '*://*.manuscdn.com/*' }
        @{ N = '155'; D = '*://*.lindy.ai/*' }
        @{ N = '156'; D = '*://*.relevanceai.com/*' }
        @{ N = '157'; D = '*://*.dust.tt/*' }
        @{ N = '158'; D = '*://*.hcompany.ai/*' }
        @{ N = '159'; D = '*://*.botpress.com/*' }
        @{ N = '160'; D = '*://*.voiceflow.com/*' }
        @{ N = '161'; D = '*://*.coze.com/*' }
        @{ N = '162'; D = '*://*.coze.cn/*' }
        @{ N = '163'; D = '*://*.vapi.ai/*' }
        @{ N = '164'; D = '*://*.api.openai.com/*' }
        @{ N = '165'; D = '*://*.platform.openai.com/*' }
        @{ N = '166'; D = '*://*.api.anthropic.com/*' }
        @{ N = '167'; D = '*://*.console.anthropic.com/*' }
        @{ N = '168'; D = '*://*.generativelanguage.googleapis.com/*' }
        @{ N = '169'; D = '*://*.aistudio.google.com/*' }
        @{ N = '170'; D = '*://*.makersuite.google.com/*' }
        @{ N = '171'; D = '*://*.ai.studio/*' }
        @{ N = '172'; D = '*://*.aiplatform.googleapis.com/*' }
        @{ N = '173'; D = '*://*.us-central1-aiplatform.googleapis.com/*' }
        @{ N = '174'; D = '*://*.europe-west1-aiplatform.googleapis.com/*' }
        @{ N = '175'; D = '*://*.europe-west3-aiplatform.googleapis.com/*' }
        @{ N = '176'; D = '*://*.europe-west4-aiplatform.googleapis.com/*' }
        @{ N = '177'; D = '*://*.europe-west9-aiplatform.googleapis.com/*' }
        @{ N = '178'; D = '*://*.openai.azure.com/*' }
        @{ N = '179'; D = '*://*.oai.azure.com/*' }
        @{ N = '180'; D = '*://*.bedrock-runtime.us-east-1.amazonaws.com/*' }
        @{ N = '181'; D = '*://*.bedrock-runtime.us-west-2.amazonaws.com/*' }
        @{ N = '182'; D = '*://*.bedrock-runtime.eu-central-1.amazonaws.com/*' }
        @{ N = '183'; D = '*://*.bedrock-runtime.eu-west-1.amazonaws.com/*' }
        @{ N = '184'; D = '*://*.bedrock-runtime.eu-west-3.amazonaws.com/*' }
        @{ N = '185'; D = '*://*.console.mistral.ai/*' }
        @{ N = '186'; D = '*://*.api.x.ai/*' }
        @{ N = '187'; D = '*://*.console.x.ai/*' }
        @{ N = '188'; D = '*://*.aleph-alpha.com/*' }
        @{ N = '189'; D = '*://*.groq.com/*' }
        @{ N = '190'; D = '*://*.together.ai/*' }
        @{ N = '191'; D = '*://*.together.xyz/*' }
        @{ N = '192'; D = '*://*.fireworks.ai/*' }
        @{ N = '193'; D = '*://*.replicate.com/*' }
        @{ N = '194'; D = '*://*.replicate.delivery/*' }
        @{ N = '195'; D = '*://*.openrouter.ai/*' }
        @{ N = '196'; D = '*://*.api-inference.huggingface.co/*' }
        @{ N = '197'; D = '*://*.router.huggingface.co/*' }
        @{ N = '198'; D = '*://*.integrate.api.nvidia.com/*' }
        @{ N = '199'; D = '*://*.build.nvidia.com/*' }
        @{ N = '200'; D = '*://*.ai21.com/*' }
        @{ N = '201'; D = '*://*.dashscope.aliyuncs.com/*' }
        @{ N = '202'; D = '*://*.dashscope-intl.aliyuncs.com/*' }
        @{ N = '203'; D = '*://*.bailian.console.aliyun.com/*' }
        @{ N = '204'; D = '*://*.qianfan.baidubce.com/*' }
        @{ N = '205'; D = '*://*.siliconflow.cn/*' }
        @{ N = '206'; D = '*://*.siliconflow.com/*' }
        @{ N = '207'; D = '*://*.deepl.com/*' }
        @{ N = '208'; D = '*://*.translate.google.com/*' }
        @{ N = '209'; D = '*://*.translate.googleapis.com/*' }
        @{ N = '210'; D = '*://*.translation.googleapis.com/*' }
        @{ N = '211'; D = '*://*.translate.goog/*' }
        @{ N = '212'; D = '*://*.microsofttranslator.com/*' }
        @{ N = '213'; D = '*://*.translate.yandex.com/*' }
        @{ N = '214'; D = '*://*.translate.yandex.ru/*' }
        @{ N = '215'; D = '*://*.papago.naver.com/*' }
        @{ N = '216'; D = '*://*.reverso.net/*' }
        @{ N = '217'; D = '*://*.systran.net/*' }
        @{ N = '218'; D = '*://*.modernmt.com/*' }
        @{ N = '219'; D = '*://*.laratranslate.com/*' }
        @{ N = '220'; D = '*://*.fanyi.baidu.com/*' }
        @{ N = '221'; D = '*://*.fanyi.youdao.com/*' }
        @{ N = '222'; D = '*://*.unbabel.com/*' }
        @{ N = '223'; D = '*://*.notebooklm.google.com/*' }
        @{ N = '224'; D = '*://*.notebooklm.google/*' }
        @{ N = '225'; D = '*://*.gamma.app/*' }
        @{ N = '226'; D = '*://*.napkin.ai/*' }
        @{ N = '227'; D = '*://*.otter.ai/*' }
        @{ N = '228'; D = '*://*.fireflies.ai/*' }
        @{ N = '229'; D = '*://*.tldv.io/*' }
        @{ N = '230'; D = '*://*.read.ai/*' }
        @{ N = '231'; D = '*://*.granola.ai/*' }
        @{ N = '232'; D = '*://*.taskade.com/*' }
        @{ N = '233'; D = '*://*.chatpdf.com/*' }
        @{ N = '234'; D = '*://*.chat.example-ai.com/*' }
        @{ N = '235'; D = '*://*.assistant.example.net/*' }
    ) },
    @{ Scope = 'Machine'; Key = 'Software\Policies\Mozilla\Firefox\WebsiteFilter\Exceptions'; Named = $false; Entries = @(
        @{ N = '1'; D = '*://*.api.mistral.ai/*' }
        @{ N = '2'; D = '*://*.llm.klinikum-beispiel.de/*' }
    ) }
)
$ErrorActionPreference = 'Stop'
# Running as SYSTEM (the Intune default) checks HKLM only; run the script "using the logged-on
# credentials" as well to cover the User-scope values (HKCU).
$IsSystem = [Security.Principal.WindowsIdentity]::GetCurrent().IsSystem

function Get-RegPath([string]$Scope, [string]$Key) {
    if ($Scope -eq 'User') { return 'HKCU:\' + $Key }
    return 'HKLM:\' + $Key
}

function Test-Skip([string]$Scope) {
    return ($Scope -eq 'User' -and $IsSystem)
}


function Get-ListSet($Key, [bool]$Named) {
    $set = New-Object 'System.Collections.Generic.HashSet[string]' ([StringComparer]::Ordinal)
    if ($null -eq $Key) { return ,$set }
    foreach ($n in $Key.GetValueNames()) {
        # '**delvals.', '**del.X', '**soft.X' … are Group Policy directives, not values.
        if ($n -eq '' -or $n.StartsWith('**')) { continue }
        $d = [string]$Key.GetValue($n, $null, 'DoNotExpandEnvironmentNames')
        if ($Named) { [void]$set.Add($n.ToLowerInvariant() + [char]0 + $d) } else { [void]$set.Add($d) }
    }
    return ,$set
}

$Problems = New-Object 'System.Collections.Generic.List[string]'
try {
    foreach ($v in $Values) {
        if (Test-Skip $v.Scope) { continue }
        $path = Get-RegPath $v.Scope $v.Key
        $key = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
        if ($null -eq $key -or ($key.GetValueNames() -notcontains $v.Name)) {
            $Problems.Add("missing $path\$($v.Name)")
            continue
        }
        $kind = $key.GetValueKind($v.Name).ToString()
        $actual = [string]$key.GetValue($v.Name, $null, 'DoNotExpandEnvironmentNames')
        if ($kind -ne $v.Kind -or $actual -cne [string]$v.Data) {
            $Problems.Add("wrong $path\$($v.Name)")
        }
    }
    foreach ($l in $Lists) {
        if (Test-Skip $l.Scope) { continue }
        $path = Get-RegPath $l.Scope $l.Key
        $key = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
        $actual = Get-ListSet $key $l.Named
        $expected = New-Object 'System.Collections.Generic.HashSet[string]' ([StringComparer]::Ordinal)
        foreach ($e in $l.Entries) {
            if ($l.Named) { [void]$expected.Add(([string]$e.N).ToLowerInvariant() + [char]0 + $e.D) }
            else { [void]$expected.Add([string]$e.D) }
        }
        if (-not $expected.SetEquals($actual)) {
            $Problems.Add("list differs $path")
        }
    }
} catch {
    Write-Output "mistral-sov: detection failed: $($_.Exception.Message)"
    exit 1
}

if ($Problems.Count -gt 0) {
    foreach ($p in $Problems) { Write-Output $p }
    Write-Output "mistral-sov: NOT compliant ($($Problems.Count) setting(s) differ)"
    exit 1
}
Write-Output 'mistral-sov: compliant'
exit 0
