"""More hand-written router utterances, one per line, grouped by intent.

A second batch written for cadre, read by generate_router_data.py after the first
batch in router_utterances.py. It follows the same labelling rules (see that file's
docstring) and teaches each near miss with several examples:
- live, current, latest, today, near me -> search; stable facts -> chat;
- make a new picture -> image; look at an existing photo or screenshot -> vision;
- read aloud, text-to-speech, music, podcasts, transcription -> audio;
  shorten or recap a given text, "tl;dr", "describe the plot of X" -> summarize;
- between human languages, "what does X mean", "how do you say" -> translate;
  "translate this function to rust", porting code, "write a function that converts
  units" -> code;
- unit conversions, percentages, tips, splitting bills, arithmetic -> math;
- poems, stories, letters, jokes, song lyrics and how-things-work explanations -> chat;
- make, edit, trim, caption or analyse a video, an animation or a GIF -> video.
"""

CHAT = """
hey, what's up?
yo, what's good
good evening, how has your day been
Can we just talk for a bit? I can't sleep.
I just got engaged!!
my cat knocked over my coffee again
do you ever get tired of answering questions
what would you do if you were human for a day
got any knock-knock jokes?
Know any good puns about cheese?
Make me laugh, I've had a terrible week.
a dad joke please
compose a poem for my mother's 70th birthday
a short story about a lighthouse that could talk
Write a limerick about a forgetful wizard
can you write a short fable with a moral about patience
write song lyrics about a summer road trip
give me an opening line for a mystery novel
invent a superhero whose power is folding laundry
write a letter to my future self ten years from now
draft a heartfelt apology letter to my best friend
help me write a retirement card message for a colleague
write a eulogy for my grandfather who loved fishing
tell me a scary campfire story
a villanelle about insomnia, please
I need a funny poem about my dog stealing socks
how does a refrigerator keep food cold
how do noise cancelling headphones work
how does a camera lens focus light
explain how a microwave heats food
why do we have leap years
how does GPS know where I am
how do solar panels make electricity
why does ice float on water
what makes popcorn pop
how does the internet actually get to my house
how do movies create the illusion of motion
how do search engines decide what to show first
why do old photographs turn yellow
how does a piano make sound
how do vinyl records store music
how does a projector put a film on the wall
what's the capital of Australia
who wrote Pride and Prejudice
how many bones are in the human body
when did the Berlin Wall fall
what is the tallest mountain in Africa
who was the first person to walk on the moon
what year did the Titanic sink
how tall is the Eiffel Tower
what do koalas eat
what's the difference between a virus and a bacterium
who discovered penicillin
why did the Roman Empire fall
what's the origin of Halloween
how many players are on a rugby team
is a whale a fish
what is the longest river in Europe
how do I stop procrastinating
should I tell my friend her boyfriend is cheating
how can I be a better listener
I'm nervous about my first day at a new job, any advice?
what are good questions to ask on a first date
how do I get my toddler to eat vegetables
tips for keeping a long distance relationship going
How do I ask my boss for a raise?
what's a good gift for a coworker who's leaving
i can't decide between two job offers, help me think it through
how do I keep my sourdough starter alive
what should I pack for a week of camping
how do you get over a breakup
any ideas for a cheap date night at home
how can I make my small apartment feel bigger
what's the best way to memorize a speech
how do I start running if I'm totally out of shape
is it worth learning latin
which is better for a beginner, a cat or a dog
do you prefer summer or winter
what's the greatest film ever made, in your opinion
are you smarter than me
can you keep a secret
what's your favourite book and why
would you rather fight one horse-sized duck or a hundred duck-sized horses
is it weird that I talk to my plants
lol that's hilarious
wait what
sorry, I was rude earlier
brb getting coffee
you're the best
let's play a word association game
quiz me on world capitals
roleplay as a medieval innkeeper
pretend you're my personal trainer and yell at me to do pushups
Describe the perfect lazy Sunday
what's the difference between empathy and sympathy
explain the offside rule in football
what is stoicism
what does a pharmacist actually do all day
how do whales sleep
Why is yawning contagious?
how do birds know where to migrate
what's the point of philosophy
I think my houseplant is judging me
come up with a motivational quote for my team's Monday meeting
brainstorm five names for a bakery
give me ideas for a sci-fi short story
give me a creative writing prompt
write a dialogue between a cat and a vacuum cleaner
a children's rhyme about brushing teeth
make up a tongue twister about sheep
tell me a fun fact
what are the seven wonders of the ancient world
why do people collect stamps
what's something you find fascinating
talk me through how a bill becomes a law in the US
how do volcanoes form
what causes hiccups
What's a good name for a band that plays only sea shanties?
help me write a best man speech that isn't cringe
write a bio for my dating profile that sounds fun
Write an acrostic poem using the word SPRING
a bedtime story about a sleepy dragon please
I'm feeling anxious about tomorrow
congratulate me, I passed my driving test!
what are the health benefits of walking every day
what's the difference between baking soda and baking powder
Why do we celebrate birthdays with cake?
what do you know about the Aztecs
is it normal to feel tired after eating
which came first, the chicken or the egg?
how does a hot air balloon go up
explain how a bicycle stays upright
what's the difference between a lake and a pond
who built the pyramids of Giza
what is the Great Barrier Reef made of
cheer me up with a silly story about a goat
what's the difference between a moth and a butterfly
write a short poem for our anniversary card
explain how a lock and key work
why do some people hate the sound of chewing
I'm so proud of my kid today
who invented the printing press
my grandmother turns ninety next month and I want to write her a short funny poem about her famous apple pie
I've been feeling really unmotivated at work lately and I'm not sure if I should talk to my manager or just push through
can you explain in simple terms how an electric car battery stores energy and why it gets worse in the cold
"""

IMAGE = """
draw a giraffe wearing a scarf
Generate an image of a cozy reading nook with rain on the window
create an oil painting of a harbor at sunrise
I want a logo for a dog grooming business called Fluffy Cuts
design an app icon that looks like a little cloud
can you paint a portrait of a fox in a Victorian suit
sketch a hand-drawn map of a pirate island
make a wallpaper of a misty forest for my laptop, 4k
generate a picture of a city skyline made of books
create a movie poster for a horror film called The Attic
draw a cute cartoon bee for a kids' worksheet
picture of a corgi astronaut please
render a low-poly mountain landscape
make an illustration for my short story: a girl and a giant whale
generate a realistic image of a red sports car on a coastal road
draw me a spaceship in the style of 1950s pulp covers
create a birthday invitation picture with dinosaurs
I'd love an image of a cottage garden full of foxgloves
please make some art of a wolf howling at a purple moon
AI picture of a medieval market, lots of detail
create a header image for my newsletter about birdwatching
a simple black line drawing of a cat curled up
Make a vector illustration of a coffee cup with steam
generate a fantasy character portrait: elf archer with silver hair
show me an image of the Eiffel Tower made out of chocolate
draw a tattoo design of a compass and a rose
paint a landscape of the Scottish highlands in autumn
make a poster that says Save Water with a cartoon raindrop
kawaii drawing of a sushi roll with a face
generate a picture to go with the poem I wrote about winter
design a tarot card illustration for The Star
draw a blueprint style image of a bicycle
make a cartoon avatar of a bearded guy with glasses
I'd like art of a cat astronaut floating near Saturn
create a Christmas card image with a snowy cabin and a deer
draw a dragon curled around a castle tower
i need a picture of a smiling tooth for my dental clinic flyer
create wall art of abstract geometric shapes in pastel colors
some concept art for an underwater city, please
Paint me a bouquet of peonies in watercolour
photo-realistic image of a golden retriever in a field of tulips
can you generate a picture of what Mars colonies might look like
draw a comic panel of a superhero eating spaghetti
Create an illustration of the water cycle for a classroom poster
generate a pixel art background of a forest for my game
a storybook illustration of three bears having a picnic
draw a cute octopus knitting a scarf
create an image of a Japanese garden with a red bridge
neon cyberpunk street with rain reflections, make it an image
design a label for my homemade hot sauce bottle
make a coloring page of a butterfly for kids
draw an elephant made of clouds
generate a dreamy surreal image of floating islands with waterfalls
illustrate a cozy coffee shop in autumn
paint a portrait of an old fisherman with a pipe
create a banner for a lemonade stand, bright and sunny
give me an image of a bowl of fruit in cubist style
generate a headshot-style picture of a fictional CEO for a mockup
sketch a robot in pencil
draw the solar system as a cute cartoon
art of a samurai cat
create an Instagram post graphic announcing our grand opening
desert highway with a lone motel sign at night, as a picture
Draw a family of ducks crossing a road
make me a picture of a treasure chest overflowing with gold
render a cozy bedroom interior with fairy lights, 3D style
design a flag for an imaginary country
generate a fantasy map with mountains, a desert and a sea
create an illustration of a witch brewing potions
an image of a viking ship in a storm
draw minimalist line art of two hands holding
a portrait of a parrot in the style of Frida Kahlo
create a sticker pack: happy cactus, sad cactus, angry cactus
draw a cupcake with rainbow sprinkles
i want a digital painting of a stormy sea with a tiny boat
visualise a futuristic train station for me
make a mosaic-style picture of a sunflower
generate a logo for a podcast called Late Night Science
design album artwork for a lo-fi beats playlist
make a thumbnail image for my video about camping
create a cover picture for my music playlist
draw a knight meeting a friendly troll
generate a cute image of a penguin in a knitted hat
paint New York in the rain, impressionist style
create a visual of a brain made of circuits
make a watercolor of a Tuscan village on a hill
snow leopard on a rocky cliff, generate it photorealistic
draw me a mandala with lots of detail
create an image of a cat café for my website banner
make a children's book illustration of a rabbit in a boat
generate a picture of a tree with leaves in four seasons
sketch a fashion design for a summer dress
create a cartoon map of our neighborhood for a block party flyer
make a photorealistic picture of a glass of iced coffee
dinosaur skeleton in a museum hall at night, digital art
could you draw a horse galloping on a beach
create an image for a slide: a lightbulb with gears inside
i need art for a D&D campaign: a haunted swamp
paint a rainy café window with people inside
steampunk owl with brass goggles, please draw it
design a poster for a school science fair
make an anime-style portrait of a boy with a sword
draw a cozy christmas living room with a fireplace
generate a picture of a giant tortoise carrying a city
create a vintage-style ad image for lemonade
render a chair made of glass as a 3D image
a forest path covered in autumn leaves, as a painting
generate an illustration of a hot dog with sunglasses
draw a realistic eye with a galaxy in the iris
create an image of a lighthouse in a thunderstorm
pic of a shark wearing a party hat
Make a doodle of a happy sun and clouds
draw some cute frogs having a tea party
create a magazine cover image with a woman in a red coat
realistic image of a wooden cabin on a frozen lake
draw a kid-friendly picture of a fire truck
create a logo for a yoga studio with a lotus
paint a night sky full of shooting stars over a campsite
generate an image of a hamster knight riding a corgi
sketch a portrait of Abraham Lincoln in charcoal
come up with a cartoon character drawing: a grumpy cloud who rains on people
Generate me a picture of a bustling Moroccan spice market
draw a pirate ship sailing through space
design business card artwork with a tree motif
create an emoji of a potato
generate a wedding invitation background with eucalyptus leaves
make an illustrated menu header with pasta and tomatoes
draw a big friendly giant in a meadow
art for my bedroom wall: a calm blue ocean horizon
create a pop-art image of a banana
imagine a city on Venus and draw it
draw a rocket blasting off in crayon style
create a drawing of my dream car, a green vintage beetle
make a picture for a birthday banner that says Happy 30th Sam
generate a realistic photo of a mountain lake at dawn
paint a snow globe with a tiny village inside
design a cute mascot for a robotics club
draw a tree house city connected by rope bridges
picture book spread of a moose in a library
for my niece's birthday invitation, draw a purple dragon wearing a party hat and blowing out candles on a big cake
I'm writing a fantasy novel and need a cover image: a lone rider on a cliff watching two suns set over an ocean
generate a realistic photo-style image of a cosy mountain cabin at night, snow on the roof, warm light in the windows
"""

VISION = """
what's in this picture I attached?
can you describe my photo
who is the person in this photograph
read the menu in this photo for me
is the milk in my photo expired? check the date on the carton
how many birds can you count in the photo
what's the plant in the pot in my picture
does my outfit in this photo match
look at this picture of my dog's paw, is it swollen
describe the attached screenshot of my dashboard
what model of car is in this picture
which painting is this, I took a picture at the museum
read the handwritten note in this photo
what's wrong with the tile grout in my photo
tell me what's on the shelf in this image
is this a real diamond? photo attached
What species of spider is in the picture I sent?
look at the screenshot and tell me which button to press
what does the road sign in my photo mean
can you read the serial number from this photo of the label
what's the dog in this pic doing
check the attached image for any typos on the poster
are there any people in the background of this photo
describe the colours and lighting in my picture
what emotion is the child in this photo showing
is the cut on my finger in this picture infected
tell me if this photo is photoshopped
what kind of lizard is in this snapshot
do the curtains in this photo go with the sofa
which one is my suitcase in this picture, the blue or the black?
what's the brand of the sneakers in this photo
what time does the clock in this photo show
Is this mole in my photo something to worry about
look at the picture of my fridge and suggest a dinner
here's a photo of my garden, what's eating my lettuce
identify this coin from the picture
what breed is the puppy in this photo
describe this x-ray image
what stage of growth is the tomato plant in my picture
does the parking sign in this photo say I can park here
is my cat's eye in this picture looking irritated
what's the make and year of the motorbike in my photo
name the constellation in this night sky photo
can you tell the age of the tree in this image
what kind of rock is this in my pic
examine the screenshot and tell me what app this is
what is the chart in this image trying to show
describe the facial expression in this portrait photo
is there mold in the corner of this photo of my bathroom
what's written on the back of this old postcard in the photo
which team's jersey is the man in the picture wearing
what does the label on this medicine bottle in my photo say
Rate my room setup from this picture
what's the dish in the photo and what's in it
are the tires in this picture worn out
what year does this old photograph look like it was taken
how tall is the person in this photo compared to the door
look at my drawing in the attached image and give feedback
tell me what the graph in my screenshot shows
is this the right cable? photo attached
which of the shoes in the picture would go with a suit
Describe everything you see in this aerial photo
what fish did I catch? pic attached
what's the name of the font in this image
does the crack in this windshield photo look bad
can you read the small print at the bottom of this photo
from my photo, what kind of wood is this table
what does the tattoo in this picture say
is this butterfly in my photo a monarch
tell me how many cars are parked in this image
look at this meme I sent, what's the joke
how much does the price tag in this photo say
can you tell if the bread in my picture is proofed enough
what's that building in the background of my photo
this is a photo of my bike's brakes, are they aligned
Take a look at my floor plan image and tell me the room sizes
which mushroom is this, photo from my walk
what are the ingredients listed on the package in this photo
describe the people in this group photo
is the horizon straight in this picture
what game console is shown in this image
from the screenshot, what's my battery health
what does the warning light on my dashboard photo mean
read the whiteboard notes in my picture and list them
what kind of bird is at my feeder in this photo
Is my dog overweight? I attached a picture.
what animal tracks are these in my snow photo
which flowers are in the bouquet in my photo
is the paint colour in my photo more grey or beige
check my screenshot: is the wifi icon showing connected
what's the leaf disease in this photo of my rose bush
guess the breed of the cat in this snapshot
what's the view from the window in this picture
identify the car part in this photo
what kind of insect bite is in my picture
count the people in the queue in this photo
is this painting in the photo an original or a print
what does my cat's body language in this picture say
is the chicken in my picture cooked
how would you describe this image to someone who can't see it
explain what's happening in this comic strip I uploaded
does the architecture in this pic look Gothic or Romanesque
what's in the corner of this photo, it looks like a shadow
look at these two photos and tell me which is sharper
what sort of beetle is this? picture attached
is my plant in the photo getting too much sun
does the screenshot show the payment went through
what kind of jellyfish is in my beach photo
find the typo on the slide in this screenshot
describe the style of the room in this listing photo
what's the condition of the roof in this picture
is this watermelon in my photo ripe from the outside
tell me what toys are on the floor in this image
whats this thing in my pic
this photo is from my trip, can you tell where it is
read the street name in this photo
what is the dog in this image chewing
what brand of guitar is in this photo
check if everyone's eyes are open in this group photo
what color are the flowers in my uploaded picture
Is the baby in this photo sleeping safely?
what kind of cake is shown in the picture I sent
look at my photo of the sky, do those clouds mean rain
tell me about the objects in this still life photo
does my handwriting in this photo look neat
what type of fabric is the shirt in this image
analyze the photo of my solar panels for dirt
what's the scoreboard say in this picture
Can you identify the species of fern in my photo?
is this snake in the picture venomous
here's a screenshot of my bank app, what's the balance shown
which of the cats in this picture looks older
describe the expression on the statue in my photo
look at my art sketch photo, are the proportions right
what's the vegetable in my photo, I found it at the market
spot anything unusual in this picture?
tell me the breed of the chickens in this image
what can you tell me about this photo of an old map
i uploaded a screenshot of a tweet, who posted it
is the bruise in this photo healing
what's the pattern on the rug in this picture called
I just uploaded a photo of the rash on my son's arm, can you describe what it looks like and whether it seems serious
in the screenshot I attached from my banking app, which transaction is the one from last Tuesday and how much was it
here is a picture of the plant my neighbour gave me, can you tell me what it is and how often to water it
"""

CODE = """
write a python function that returns the largest of three numbers
translate my python class into idiomatic go
port this C code to Python
can you rewrite this Java method in Kotlin
convert this JavaScript function to TypeScript with types
translate this SQL query into a pandas expression
rewrite this bash script in powershell
turn this python 2 code into python 3
convert my MATLAB script to numpy
migrate this jQuery code to vanilla javascript
how do I translate a C++ struct into a Rust struct
how do I draw a square with turtle graphics
write a p5.js sketch that draws bouncing circles
draw a triangle using SVG code
how do I display an image in a tkinter window
use PIL to draw text on an image in python
plot a histogram in matplotlib from a list of ages
write a function to render a mandelbrot set with numpy
why does my for loop skip the last element
how do I check if a key exists in a python dict
What's the difference between == and === in JavaScript?
write a regex for UK postcodes
my React app shows a blank page after build
error: cannot borrow x as mutable more than once, what does it mean
how do i merge two branches in git without losing changes
what is a closure in javascript
explain recursion with a python example
write a SQL join between orders and customers
how do I add an index to a postgres table
Create a Flask route that accepts a JSON POST
write a function that checks if two strings are anagrams
implement a trie in go
what's the time complexity of heapsort
python generator that yields fibonacci numbers
my docker container exits immediately, why
how do I set environment variables in a GitHub Actions workflow
write a vue component with a counter button
how to make a button change colour on hover in css
write a go http handler that returns json
what's the difference between a list and a tuple in python
how do I read user input in C
Write a Java class for a simple to-do item with getters and setters
implement fizzbuzz in rust
pytest test for a function that adds two numbers
how do I mock an API call in jest
write a python script that renames photos by the date they were taken
script to extract the audio track from an mp4 using ffmpeg
write a function that converts celsius to fahrenheit
write a python function that calculates the tip on a bill
write a program that translates english words into pig latin
write a script that counts the most common words in a text file
how do I call the OpenAI API from python
write a web scraper that collects headlines from a news site
implement a binary heap in java
sql query that counts users per country
what does git rebase -i do
why am I getting CORS errors from my fetch call
set up eslint and prettier for a typescript project
how can I reverse a linked list in place
convert a string to an int in go
write a decorator that times how long a function takes
how do I use async/await with fetch
write a type-safe event emitter in typescript
what's wrong with this code: for i in range(len(x)): x.remove(i)
segfault in my c program when I free a pointer twice
how to write a multiline string in yaml
create a github action that runs pytest on every push
rotate a matrix 90 degrees in python
how do I paginate results in django
Write a simple REST client in C# using HttpClient
how can I make my python code run in parallel
what does undefined is not a function mean in my js console
explain what a pointer is in C
write a haskell function to sum a list
implement dijkstra's algorithm in python
how do i use a hashmap in rust
code to shuffle a deck of cards
what's a good folder structure for a node project
write an SQL query to find the second highest salary
convert this callback code to promises
lint errors say line too long, how do I configure flake8
how do I pretty print json in the terminal
jq command that extracts all ids from a json file
awk one-liner to sum the third column of a csv
write a python script to zip a folder
how do I write a class in ruby
lua function that moves the player in my love2d game
create a SwiftUI view with a list of names
What's dependency injection, with a short java example
how do I handle null safely in kotlin
implement a rate limiter in python
write a function that returns all permutations of a string
my tests pass locally but fail in CI
how to debounce an input field in react
regular expression that matches phone numbers like 555-123-4567
what's the difference between an interface and an abstract class
how do I free memory in c++ with smart pointers
write a script to back up a mysql database every night
how do I convert a list to a set in python
javascript function that converts kilometers to miles
write a js helper that formats a number as a percentage
how do I create a virtual env with conda
make an html page with a picture gallery
write css to make an image responsive
use opencv to resize every frame of a video in python
write a function that plays a beep sound in python
how do I loop an audio file with the html audio tag
write a discord bot that replies hello
what's the syntax for a switch statement in c
build a calculator app in javascript
how do I compute the mean of a numpy array
sort this array of objects by date in js
how do I make a POST request with curl
kotlin coroutines vs threads, which should I use
explain what this SQL does: SELECT name FROM users WHERE age > 30
python script that checks if a website is up
how do I style a table with tailwind
pip install fails with externally managed environment, help
write an assembly program that adds two numbers
write a function in c that swaps two integers
what's the best way to structure a flutter app
graphql schema for a blog with posts and comments
implement a bloom filter
merge sort in go please
how do I read an excel file in python
help, my while loop never ends
convert this recursive function to an iterative one
what's tail call optimization
optimize this SQL query, it's slow on 10 million rows
how to deploy a next.js app to vercel
code review my function please, I'll paste it below
how do I write to stderr in rust
write an arduino sketch to blink an LED
how do I draw a line chart in d3.js
containerize my go service with a multi-stage docker build
generate a QR code image with python
how do I install rust on windows
what's a race condition and how do I avoid it in go
typescript types for this JSON response
how can I count lines of code in my repo
my pandas merge is producing duplicate rows
what's the difference between git fetch and git pull
I have a pandas dataframe with a date column stored as strings, how do I convert it and group sales by month
my flask app works locally but returns a 502 error behind nginx on the server, what should I check first
write a python script that reads every json file in a folder, merges them into one list and writes a csv
"""

MATH = """
how much is 18 percent of 65
calculate a 15% tip on a $72 dinner
what's the tip if the bill is $38.50 and I want to leave 20 percent
we're 5 people and the total came to $212, how much does each pay
convert 5 kilometers to miles
how many ounces in a pound
72 fahrenheit in celsius?
how many cups are in a liter
convert 180 cm to feet and inches
what's 3 hours 45 minutes in minutes
how many milliliters are in a tablespoon
60 mph is how many km per hour
convert 1.5 acres to square meters
how many grams is 8 ounces
what's 350 degrees fahrenheit in celsius for my oven
how many inches is 2 meters
25 times 3 plus 12
what is 999 + 1001
48 * 12
7.5 minus 2.75
what is 6 squared times 4
divide 144 by 9
what is 100 divided by 8
solve 3x - 7 = 14
find x: 2(x + 5) = 24
what's the sum of 1/2 and 1/3
simplify the fraction 42/56
what's 0.75 as a percent
increase 80 by 15%
decrease 250 by 12 percent
what percentage is 45 out of 60
I scored 38 out of 50, what percent is that
prices went from $4 to $5, what's the percentage increase
a jacket was $120, now 30% off, how much do I pay
if I save $150 a month, how much after 2 years
how long to double money at 7% interest using the rule of 72
what's the monthly payment on a $10,000 loan at 6% over 3 years
how many days are there between March 3 and April 17
what's the area of a room that is 4.2 by 3.5 meters
how much paint do I need for a wall 5 m by 2.6 m if a litre covers 10 square meters
what's the volume of a cylinder with radius 3 and height 10
find the diagonal of a 6 by 8 rectangle
what's the surface area of a sphere with radius 2
a polygon's interior angles add up to 1080, how many sides does it have
what is 11 cubed
square root of 2 to three decimals
what's 5 factorial divided by 3 factorial
what is log10 of 1000
what is the derivative of x times sin(x)
integrate x^3 dx
what's the limit of (1 + 1/n)^n as n goes to infinity
factor x^2 + 7x + 12
solve x^2 = 49
what's 2/3 of 90
how many quarters are in $17
if I run 5 km in 27 minutes, what's my pace per km
a car uses 6 liters per 100 km, how much fuel for 450 km
what's the probability of drawing an ace from a deck
what's the chance of flipping heads 3 times in a row
how many different 4 digit PINs are possible
what's the mode of 2, 3, 3, 5, 7, 3, 8
find the range of 14, 3, 27, 9
what's 15% more than 240
what's 2.71828 rounded to the nearest hundredth
what is 45 in binary
what's 1,000,000 divided by 365
how many hours are in a year
how many seconds in 2 weeks
a recipe for 4 uses 250g flour, how much flour for 10 people
what's 7/8 in decimal
how much is 35 percent off $60
what is the value of 3x + 2y when x = 4 and y = 5
multiply 23 by 47
what's 256 divided by 16 plus 9
14 to the power 3
is 221 prime
what are the prime factors of 360
convert 0.3 repeating to a fraction
add 7 hours to 9:30 pm, what time do I get
a meeting starts at 2:45 and lasts 95 minutes, when does it end
my salary went up from 48000 to 51000, by what percent
sales tax is 8.25%, what's the total on a $64 purchase
how many 30x30 cm tiles do I need for a 3 by 4 m floor
if it's 1500 miles and I drive 500 a day, how many days
what's 4 and 3/8 plus 2 and 5/8
calculate the hypotenuse for sides 5 and 12
what is the sum of the interior angles of an octagon
convert 45 degrees to radians
how many centimeters in an inch
what's 9.99 times 7
1/4 + 3/8 = ?
what's 30% of 30% of 100
average speed if I drove 120 km in 1.5 hours
5 workers build a wall in 6 days, how long for 3 workers
what is the arithmetic mean of 88, 92, 79 and 95
solve 4/x = 2/5
what's the inverse of the matrix [[2, 1], [1, 1]]
what's the determinant of [[3, 8], [4, 6]]
add 2 and 2 for me
15 x 15
how many zeros in a billion
what's half of 3/4
how much does 2.3 kg of apples cost at $3.20 per kg
a phone plan is $35 a month plus $0.10 per text, what do I pay for 120 texts
how much would I earn working 38 hours at $17.50 an hour
500 growing at 3% a year for 10 years, what's it worth
I got a 7% raise on $62,000, what's my new salary
boys to girls is 3:5 and there are 40 kids, how many girls
what's 2 to the -3
what's the cube of 1.5
what is 81 to the power of one half
find the slope of the line 3y = 6x + 9
what's the midpoint of (2, 4) and (8, 10)
distance between points (0,0) and (3,4)
7 min 20 sec in seconds?
convert 40 km/h to meters per second
how many square feet is 50 square meters
what's a 12.5% service charge on 84 pounds
how much change from $20 if I spend $13.65
whats 1234 minus 567
calculate 3 + 4 * 5
what is 17 mod 5
is 144 a perfect square
what's the LCM of 4, 6 and 10
what's 20% of 20
three friends split a $96 taxi fare and a $15 tip, how much each
gas is $3.89 a gallon, what does 14 gallons cost
a pool holds 50,000 liters and fills at 25 liters a minute, how many hours to fill it
what is 10% of 1 million
what does 5^4 equal
work out 17 times 23
how many feet in a mile
how many tablespoons in half a cup
convert 1 gigabyte to megabytes
what percentage of 80 is 12
sum of the numbers from 1 to 50
solve 2^x = 32
how many 0.4 m pieces can I cut from a 5 m rope
if 1 euro is 1.08 dollars, how many dollars is 250 euros
my restaurant bill is 64 euros, what's a 10 percent tip
how many kilograms is 150 pounds
we drove 340 miles and the car used 11 gallons of fuel, what was our fuel economy in miles per gallon
if I put $200 a month into savings at 4% interest compounded monthly, how much will I have after five years
a rectangular garden is 12 meters long and 7.5 meters wide, how many meters of fencing do I need to go around it
"""

VIDEO = """
stitch my holiday clips together with a song over them
generate a clip of a whale breaching at sunset
create an animated GIF of a dancing banana
make a gif of a cat falling off a table
turn this clip into a gif for slack
trim the first minute off this webinar video
cut the boring middle part out of my vlog
add captions to this interview video
auto-caption my youtube video in English
burn subtitles into this mp4
what's happening at 2:13 in this video
how many goals are scored in this match footage
watch this clip and tell me if the dog limps
who appears first in this video clip
detect when the car enters the frame in my dashcam video
analyze my golf swing in this video
check my squat form in the video I recorded
count the reps in my workout video
generate an animation of a sunflower turning towards the sun
create an animated cartoon of a fox and a crow
make a stop-motion clip of clay characters dancing
animate my logo so it spins in
make a 15 second reel from these photos
create a slideshow with fades from my graduation pictures
generate a video of a futuristic car driving through Tokyo at night
create a short film scene of two astronauts talking on the moon
make an animated map of the Roman empire growing over time
edit my wedding footage into a 3 minute highlight reel
crop out the black bars from this video
change the aspect ratio of my clip to 9:16
mute the sound in this video clip
brighten this dark video from the concert
export my clip at 1080p
convert this avi to a webm
split the video at the 45 second mark
make a looping cinemagraph of steam rising from coffee
generate a video of northern lights dancing over a cabin
create an animated countdown timer for my stream
make an animated emoji of a waving hand
animate this still photo so the water moves
generate a short clip of a dog surfing
create an explainer animation of how blood circulates
make a whiteboard animation for my sales pitch
turn my blog post into a short video with voice and images
generate a video from this text prompt: a knight walking through fog
make a product video showing my headphones spinning on a table
create a real estate walkthrough video from these room clips
put my logo in the corner of every clip
add a title card at the start saying Summer 2024
insert a freeze frame when the ball hits the net
make a split screen video of me and my brother playing
add a zoom effect on the speaker's face at 1:20
fireworks over a harbour, as a video
create a 5 second looping video for my website hero
generate a dancing robot animation
shorten my video to 60 seconds for instagram
condense this 2 hour stream into a 10 minute video
make a recap video of our football season from these clips
remove the shaky bits from my bike ride footage
read the license plate of the car in this dashcam clip
does anyone enter the room in this security camera footage
track the ball in this tennis video
is this video deepfaked
describe each scene of this short film clip
give me timestamps of every scene change in this video
generate a time lapse video of a city being built
make an animated gif from these three photos
create a reaction gif of a surprised cartoon face
make a looping gif of a spinning globe
turn my drawing into a flipbook animation
render a 3d animation of a rotating earth
create an animated background for zoom calls
make a video invitation for my kid's party
generate a cooking video of a chef making pasta
make a timelapse of my painting process from these clips
blur the background in my video call recording
color correct these clips so they match
apply a vintage film filter to my video
add falling snow over my footage
overlay text on my video at the 10 second mark
put the lyrics on screen in my music video
render my animation at 24 frames per second
generate a 20 second ad video for a coffee brand
create a hype video for our company launch
drone-style footage of a car on a coastal road, please generate it
generate footage of a busy street market in Bangkok
short clip of snow falling in a pine forest
create a sunrise timelapse video over the desert
make a video game trailer from my gameplay clips
edit out the ums from my talk video
make an mp4 from this gif
extract the frames from this clip as images
speed ramp the jump in my snowboarding clip
which player commits the foul in this clip
is the baby in this video crawling normally
watch my presentation video and give feedback on my body language
how long is the intro in this video
what kind of dance is in this video
animate a character walk cycle
make a lip sync animation for this cartoon character
create a motion graphics intro with my channel name
create an animated infographic video about climate change
make a short video announcing our sale with bold text
edit the video so it's vertical for tiktok
make a clip of a goldfish swimming in a bowl
generate an animated short of a snowman melting
animate the sun rising over a cartoon farm
create a looping video of rain on a window for a livestream background
put these five clips in order and add a soundtrack
make a video birthday card with photos and music
generate a clip of horses running through a river
cut my gameplay recording down to the best kills
stabilise the footage from my gopro
create an animated loading spinner GIF
make a hyperlapse video of my walk through the city
make a black and white silent film style clip of a man slipping on a banana peel
animate the chart of our sales growth as a video
generate an anime style animation of a girl running for the train
time-lapse video of a plant growing, please
make a ken burns style video panning across this photo
add a progress bar to the bottom of my video
make a video of my dog's best moments set to music
what's the frame rate and resolution of this video file
spot the moment the glass breaks in this slow motion clip
render a flythrough animation of my 3d house model
generate a video loop of lava lamp blobs
create a short animated clip of a paper boat in a puddle
make an animated greeting of a dancing christmas tree
in this video, at what point does the speaker change slides
loop the last 3 seconds of my clip as a gif
edit my vacation footage into a 1 minute cinematic clip
make a gif out of the funniest moment in this clip
add english subtitles to my short film
which scene in this trailer shows the villain
animate a cartoon cat chasing a laser dot
can you make this clip loop seamlessly
trim my screen recording so it stops at 4:30
generate a 10 second video of a volcano erupting at night
caption each scene in my travel video with the city name
is the referee in this replay video making the right call
take the clips from our school trip, cut them down to two minutes, add some upbeat music and put the date as a title
in this recording of my soccer match, can you find every time the number 7 touches the ball and list the timestamps
generate a short cinematic video of a lonely astronaut walking across a red desert while a storm gathers in the distance
"""

AUDIO = """
can you read the news article I pasted aloud while I cook
text to speech this message please
turn this blog post into audio I can listen to on my commute
narrate my kids' book in a cheerful voice
read me the lyrics with a dramatic voice
convert this pdf into an audiobook
make an mp3 of this speech so I can practise
speak this in a French accent: welcome to the show
pronounce Worcestershire for me out loud
how is quinoa pronounced, say it out loud
generate a voice that says welcome to our store
transcribe this podcast episode
transcribe the interview from my phone's voice recorder
get me a transcript of this zoom call audio
write down what's said in this voice message
convert speech in this mp3 to text
I recorded my lecture notes by voice, can you turn them into text
transcribe and timestamp this interview recording
compose a calm piano piece for studying
make a hip hop beat at 85 bpm
sing a short song about pancakes
create a theme tune for my podcast
produce a chill synthwave track
generate background music for my wedding slideshow
make a spooky soundtrack for a haunted house
make a jingle that says Tony's Tacos
generate a sound effect of a glass shattering
make the sound of a cat meowing
create a notification chime for my app
produce an ambient forest soundscape with a stream
generate a podcast conversation between two hosts from this article
voice a 10 second podcast intro that says this is Jamie Talks
boost the volume of the quiet speaker in this recording
remove the hum from this guitar recording
cut the first 10 seconds of this mp3
merge these voice memos into one file
slow down this song without changing the pitch
change the pitch of my voice recording up a semitone
add reverb to my vocals
make this audio sound like an old radio
export my recording as a flac file instead of m4a
what instrument plays the solo in this track
what accent does the speaker in this recording have
listen to my singing and tell me if I'm off key
identify the genre of this music clip
tell me the words the singer is saying in this clip
say happy birthday, Maria in a cheerful voice
can you read me a bedtime story out loud
voice this dialogue with two different characters
announce the gate change at the airport in a calm voice
make an audio guide for my museum tour from this text
read my presentation notes aloud so I can rehearse
turn this recipe into spoken instructions
convert my ebook chapter to audio
make a sound of a spaceship engine humming
generate an ambient rain-on-tent sound for 1 hour
create a 10 minute brown noise track
make a meditation bell sound every 5 minutes
compose a folk song melody on acoustic guitar
create a victory fanfare for my game
generate a retro arcade coin sound
make a drum and bass track with heavy bass
music for a youtube intro, upbeat and short
make a ringtone that sounds like a marimba
transcribe my daughter's voicemail from school
transcribe the lyrics of this song
generate subtitles as an srt file from this audio
make a karaoke version of this track
get rid of the crackle from my grandad's vinyl rip
make my podcast audio sound more professional
level the loudness between the host and guest in this recording
add a fade in to the start of this track
create an audio loop of a ticking clock
what is the person in this voice note saying
how many times does the speaker say um in this audio
is there a dog barking somewhere in this recording
sing happy birthday to my friend Leo
hum the melody of twinkle twinkle little star
play the sound a humpback whale makes
let me hear what a theremin sounds like
speak this Spanish sentence so I can hear the pronunciation
read this list of vocabulary words aloud slowly
generate a radio ad voiceover for a car dealership
make an audio message for my grandma saying I miss her
voice-over for my explainer: meet Bolt, the fastest bike lock
text-to-speech with a deep male voice for this paragraph
create an audio clip of applause
produce a relaxing sound bath with singing bowls
synthesize a choir singing one long note
give me a metronome click at 120 bpm
listen to this guitar string and tell me if it's sharp or flat
speed up this audiobook to 1.5x
shrink the file size of this voice memo
take the audio from my lecture and write it out word for word
caption this voice recording for deaf colleagues
make a bird chirping alarm tone
create wind noise for my short film's soundtrack
compose a lullaby on a soft harp
remove the mouth clicks from this narration
make a podcast trailer with music and my voice clips
put background music under my podcast voice track
compose an instrumental anthem for my fantasy kingdom
read my poem aloud with feeling
say the alphabet in a silly voice
turn these meeting notes into a voice memo
what's the loudest part of this recording
find where the speaker laughs in this audio file
speech-to-text for the attached lecture
transcribe the call with the customer and label who's talking
create a sonic logo, just three notes, for my brand
generate a sound effect of a coin dropping
compose a spooky organ tune for halloween
generate an 80s synth pop instrumental
make the narrator sound warmer in this recording
equalize this podcast so the voices are clearer
give me a voice reading of this letter
I want to hear this paragraph spoken in an Australian accent
read out the steps of this workout one by one
mp3 of this poem read by a calm voice
say my reply back to me in a voice so I can check how it sounds
generate the sound of a squeaky door and footsteps for my radio play
can you turn this chapter into an audio drama with sound effects
produce a podcast episode of us two discussing this report
lofi study music, one hour
record a voice greeting for my shop's phone line
make a whistle sound effect
generate a spoken announcement of these school closures, like a radio presenter
convert the interview audio to a text document
layer ocean sounds under this guided meditation voice track
clean up the wind noise in my outdoor voice recording
play a drumroll sound
generate a robotic voice saying access denied
create some hold music for our support line
is the singer in this clip using autotune
say this tongue twister aloud fast: she sells sea shells
read this out to me, my eyes are tired
sing a song with vocals about my cat Pickles
convert this voice memo into a written transcript
generate a voice saying good morning, class in a friendly tone
beatbox a rhythm for me
create a calming soundtrack of waves and seagulls
I'm visually impaired, could you read this whole letter from the council out loud to me slowly and clearly please
make a thirty second upbeat acoustic guitar track I can use as background music for my bakery's radio spot
transcribe this hour-long recording of our team meeting and mark which person is speaking for each part
"""

SEARCH = """
what's the weather in London today
will it rain in Berlin this afternoon
current temperature in Phoenix
is it windy at the beach in San Diego right now
what's the forecast for Saturday in Edinburgh
latest news about the Champions League final
who won the F1 race today
what's the score in the India vs Australia cricket match
NBA standings right now
what's the euro to yen exchange rate today
convert 100 dollars to pesos at today's rate
how much is one bitcoin in euros right now
Tesla share price today
is the S&P 500 up or down today
find a coffee shop near me with wifi
closest gas station open now
best ramen near Shibuya station
where can I get a covid test near me today
any urgent care clinics open near me on a Sunday
Italian restaurants in Brooklyn with outdoor seating
find a hardware store near me that sells paint
dentist accepting new patients in Leeds
has a new Python release come out this month
when is Apple's next product event
is Amazon Web Services down right now
is Gmail having an outage today
search for reviews of the Sony WH-1000XM5
find me the cheapest flight to Tokyo in December
hotels in Barcelona with availability this Friday
train tickets from Milan to Venice tomorrow morning
what time is sunset today in Lisbon
what's the current population of India
who is the CEO of OpenAI now
who is the current president of France
is the Louvre open on Tuesdays this month
what are the opening hours of Costco on Sunday
look up the latest iOS update and what it changes
breaking news in Ukraine today
what happened at the UN meeting this week
any updates on the hurricane heading to Florida
search for the newest research on Alzheimer's drugs
find recent articles about the housing market in Toronto
what are the latest AI announcements from Google
find a youtube tutorial on fixing a leaking tap
find a pdf of the IKEA Malm assembly instructions online
find the Wikipedia page for the Treaty of Westphalia
look up the address of the Spanish embassy in London
find the phone number of a locksmith nearby
what's the wait time at the DMV today
are there any traffic jams on the M25 right now
is the subway running normally this morning in NYC
check the status of flight UA 902
when does the next bus to the airport leave from the central station
ferry schedule from Helsinki to Tallinn today
search for second-hand sofas for sale in Bristol
find a used Honda Civic under 10000 near me
where can I buy tickets for the Coldplay concert
are there still tickets for the Arsenal game on Saturday
what's the top song on the charts this week
what's trending on YouTube right now
which movies are new on Netflix this week
is the new iPhone out yet
price of eggs at Walmart today
compare prices for the PS5 at different stores
find deals on winter coats
search for a chicken tikka masala recipe online
look up today's wordle hint
what's the pollen count today
is there a tsunami warning for Hawaii now
is it safe to travel to Peru right now, any advisories
what are the current entry requirements for Japan
who's leading the Tour de France right now
search the news for the latest on the Mars sample return mission
find a hiking trail near Denver with a waterfall
best-rated bakeries in Montreal
find a vegan restaurant open for lunch near Union Square
what's the cheapest phone plan in Australia right now
check if the store has the Lego Titanic in stock
look up the local election candidates in my district
what time is the Manchester derby on TV tonight
what's the current interest rate on savings accounts
what's the gold price per ounce today
how much is a gallon of gas in California right now
what's the current inflation rate in the UK
find the latest job openings at Spotify
search linkedin for product manager jobs in Berlin
are the northern lights visible in Scotland tonight
what's the snow report at Whistler today
surf conditions at Bondi this morning
what local events are happening in Chicago tonight
find a book club near me
what's the best-selling book this week
look up the new tax brackets announced this year
search for news about the Olympics opening ceremony
what did Elon Musk post today
what's the latest with the teachers' strike
track my DHL parcel 1234567890
find an electrician available this weekend in Austin
show me nearby parks with a playground
where's the nearest ATM
what time does the Apple Store on Regent Street close today
which supermarkets near me are open on Christmas day
latest headlines from the BBC
is the Eiffel Tower open today
anything free to do in London on Sunday
look up the results of the local council election
check if there's a train strike tomorrow
where can I recycle old batteries near me
find an open-source note taking app and compare the top ones
find pictures of the new Tesla Cybertruck online
search the web for photos of Santorini sunsets for my mood board
search for videos of yesterday's solar eclipse
what are the current COVID case numbers in Germany
who is number one in the tennis rankings right now
how did the markets close today
any Black Friday deals on TVs still available
look up the menu and prices at Nando's
find the nearest dog park
what are the best laptops right now under $800
find the newest episode of the Lex Fridman podcast
look up today's lottery numbers
where is the International Space Station right now
what does a Big Mac cost in Switzerland these days
has the road to Yosemite reopened after the snow
is Disneyland Paris busy today
look up the latest reviews of the Hotel Adlon in Berlin
find out what time the Knicks play tonight
how much is the pound worth against the dollar this morning
what's the news on the strike at the Ford plant
is there a pharmacy open late in my area
who topped the box office last weekend
has the new Zelda game got good reviews so far
what's the latest on the SpaceX Starship test
find a barber near me open on Mondays
what's the weather going to be like in Rome next week
current wait times at the Canadian border
where's the cheapest place to buy a Nintendo Switch right now
search for reviews of this new sushi place on 5th avenue
is there a thunderstorm warning in my area today
look up who won Eurovision this year
I'm in downtown Chicago right now, are there any good Mexican restaurants within walking distance that are still open
what are the latest reports saying about the wildfires near Athens, and are any roads or flights affected today
find me the cheapest direct flights from Manchester to Rome for the second week of June, with hand luggage
"""

SUMMARIZE = """
three-line version of the text below
tl;dr this article please
key points from the attached report, please
give me the main takeaways from this book chapter
what's The Godfather about, plot-wise, in a paragraph
what happens in the novel Beloved, in short
give me a plot summary of Star Wars: A New Hope
recap the plot of season 2 of The Crown
quick synopsis of To Kill a Mockingbird
summarize the story of Cinderella in three sentences
what's the storyline of The Lion King in a nutshell
outline the plot of Homer's Iliad
sum up the Harry Potter series in one paragraph
give me the short version of Les Misérables
condense this email into two sentences for my boss
shorten this paragraph without losing the meaning
make this article shorter, around 150 words
cut this essay down to half its length
rewrite this report as a one-page summary
what's in the attached PDF, in brief
summarise the key findings of this clinical study
give me the bottom line of this long email
what's the gist of this thread?
explain this article to me in a few bullet points
make bullet points out of this meeting transcript
pull out the action items from these meeting notes
what did they decide in this email chain
summarize the lecture transcript I pasted
give me a tl;dr of the terms of service
digest this 40-page report into one paragraph
summarize this article for a 10 year old
what's the main argument of this essay, briefly
summarize this news story in one tweet
boil down this customer feedback into themes
summarize the comments on my post
shorten these release notes into a changelog line
give me an overview of this book without spoilers
write a summary of chapter 3 of my textbook
summarise this wikipedia article in plain English
what does this contract say, in short
tl;dr version of the lease agreement I pasted
condense my notes into a study sheet
what are the highlights of this product review
summarize the reviews for this hotel that I copied in
in a nutshell, what is this research paper saying
skim this article and tell me what matters
summarize the plot of the first episode of Severance
recap last week's episode of The Bear
give me a chapter-by-chapter summary of Animal Farm
summarize the Bible story of Noah's ark
Titanic, the film: give me its plot in four sentences
what's the plot of Parasite without spoiling the ending
summarize the history of the Ottoman Empire from this article
summarize the main events in this timeline
give me a one-line summary of each section of this doc
turn this long Slack message into three bullets
brief summary of this cover letter please
summarize my resume into a 2-line bio
make an executive summary of these quarterly numbers
summarize the transcript of the earnings call
condense these lecture slides into key ideas
shrink this paragraph to a single line
summarize this long text message from my mom
give me a quick summary of this recipe blog post, just the recipe
what does this article say? two lines max
sum up this opinion piece in one sentence
give me a short précis of this legal brief
abridge this short story to about 300 words
tighten this summary even more
what are the 3 main lessons from this article
Interstellar plot summary, short please
recap the story so far in The Wheel of Time books
give a synopsis of the musical Hamilton
sum up Spirited Away's story for someone who hasn't seen it
main points of this speech transcript, please
summarize what this scientific abstract means for patients
give me the cliff notes for The Catcher in the Rye
reduce this blog post to a 3-sentence teaser
summarize the minutes from last board meeting
summarize the requirements in this job posting
what does this long Reddit thread conclude
shorten this news article for our newsletter
Give me a summary of the main characters and plot of The Office pilot
compress this 10-minute read into 5 bullet points
what happened in the last chapter, briefly
summarize the patient notes into a handover
summarize this thread so I don't have to read 200 replies
tl;dr: what's this paper's contribution
summarize the main plot points of Game of Thrones season 1
what's the short story The Lottery about
describe briefly what happens in the Book of Exodus
explain the storyline of the Matrix trilogy in short
can you give me a summary of the article I linked above
summarize these tweets into one paragraph
distill this podcast transcript into five quotes
make this report skimmable: headings and short bullets
shorten the intro paragraph of my essay
trim this text down to 280 characters
cut this bio down to 50 words
condense the story into a logline
summarize the arguments for and against in this debate transcript
what are the takeaways from this case study, in bullets
what are the big ideas in Sapiens, summarized
give me a recap of the Marvel movies before Endgame
what's this article about?
key takeaways from the text above please
rephrase this long paragraph more concisely
brief me on the main points of this 30-page proposal
summarize the discussion from yesterday's standup notes
summarize the changes between these two versions of the document
summarize this ebook's introduction
what are the key points of Martin Luther King's I Have a Dream speech
summarize the thread in my inbox about the office move
sum up the storyline of Avatar for me
describe the plot of Jurassic Park in a few lines
Describe the plot of The Little Prince for my book club
tl;dr the email from HR
what's the long and short of this report
the key points of this article, as a numbered list
give me a 100-word summary of the novel Beloved
summarize the documentary transcript I pasted in
synopsis of the opera Carmen, please
recap the main events of the Lord of the Flies
precis of this essay for my teacher
sum up these five customer complaints in one line each
what's the plot of The Shawshank Redemption in two sentences
boil this policy document down to what employees must do
summarize the last 50 messages in this group chat
give me the key points of the president's letter I pasted
cliffs notes of this textbook section please
summarize this article's conclusion in a sentence
I don't have time to read this, give me the short version
what's the essence of this memo in one sentence
make a short summary of the case notes below
what are the main conclusions of this white paper
a one-paragraph recap of Wuthering Heights
summarize the story of the Three Little Pigs for my toddler
turn this 5 page memo into a slide of bullets
write the executive summary for the report I pasted
too long, didn't read: this blog post
my manager sent me this really long email about the reorganisation, can you pull out just the parts that affect me
here's a 20 page research paper on sleep and memory, give me a plain-language summary I can share with my parents
I missed the first half of the meeting, summarize what was decided from these notes in a few short bullet points
"""

TRANSLATE = """
how do you say where is the bathroom in Italian
what's the English meaning of bonjour
what's thank you in Dutch
good morning in Korean?
what does je t'aime mean in French
a Hawaiian friend said mahalo, what does that mean
what is cat in German
how would I say I need a doctor in Spanish
how do I ask for two beers in Portuguese
I need this email to my landlord in German
can you translate this text from Russian to English
put this into Japanese: the package arrives on Monday
keep calm and carry on, but in Latin
what's the Spanish for grandmother
French word for strawberry?
in Portuguese, how do I say I'm vegetarian
what does ohne mean in German
what does kia ora mean
is there a Spanish word for serendipity
I got a text in Turkish, what does nasılsın mean
this paragraph is in Arabic, what does it say in English
help me say congratulations on the baby in Hindi
I need my out-of-office message in French and German
my nonna's recipe is in Italian, can you put it into English
English to French: the train is delayed by twenty minutes
Spanish to English: ¿dónde está la biblioteca?
German to English please: Ich habe Hunger
what's itadakimasu in English
English version of the lyrics of La Vie en Rose
what does the Japanese word kawaii mean
is embarazada the Spanish word for embarrassed?
how to express I'm sorry for your loss in Tagalog
how do you say bless you in German
how do I say no onions please in Thai
translate the instructions on this shampoo bottle from Korean
what is the meaning of wabi-sabi in English
how do I greet someone politely in Japanese
say see you later in Spanish, the casual way
how do I write welcome home in Chinese characters
could you put this birthday card message into Swedish
translate sale ends Sunday into Spanish and French for our shop window
can you translate a Japanese tweet for me
what's this in English: Wo ist der Bahnhof?
can you turn this French paragraph into English
render this letter in Korean, polite form
Mandarin version of my business card text please
Spanish for fragile, handle with care
what does ganbatte mean in Japanese
give me the Italian for my name is
translate Where are you from? into Russian
how do Brazilians say cool in Portuguese
what's friend in Hebrew
how would this sentence look in Esperanto
what's the German translation of I'm running late
translate this note in Chinese that my coworker left on my desk
happy anniversary in French, for a card
translate these Spanish subtitles to English
translate the following Italian: andiamo al mare domani
what does c'est la vie mean
translate I don't eat meat to Vietnamese
translate this whole conversation into English
translate my product listing from English into Japanese and Korean
my invoice came in German, what does it say in English
how do you tell someone dinner is ready in Hawaiian
what does pura vida mean in Costa Rica
how do you say excuse me, is this seat taken in French
say good night, sleep well in Ukrainian
translate this quote from Latin: veni, vidi, vici
how to say I'm lost in Greek
translate the safety instructions into Polish for our workers
turn this English poem into French
the word water in Japanese, Korean and Chinese
translate this letter from the Dutch tax office
how do I say I'd like to book a table in Italian
what's the Korean word for delicious
translate thank you for your order into Arabic for my website
meaning of namaste in English
translate this German manual page to English
English to Japanese, polite: please take off your shoes
translate into Spanish: your appointment is confirmed for 3pm
how do you say beautiful in Italian
what does hola, ¿qué tal? mean
translate the message my Brazilian friend sent: saudades de você
how do I say hello in Zulu
put these directions into Spanish for my cleaner
translate my instagram caption into Italian
what's the French equivalent of piece of cake
what does ¿me pasas la sal? mean
how would a Spanish speaker say I miss you
translate this Swahili proverb into English
what is butterfly in Japanese
translate this legal clause into plain French
how do you say happy holidays in Norwegian
convert bonne nuit to English
translate my wedding speech into Polish so grandma understands
translate the text on this German sign: Rauchen verboten
English to Mandarin: how much is this?
what does the Korean phrase saranghae mean
translate my cover letter into German
French sign text for wet paint
how do you greet someone in Hawaiian
translate these flashcards from English to Spanish: dog, house, tree
how do you write open 24 hours in Korean for a shop sign
how do you say enjoy your meal in Russian
translate the French part of this email for me
what is the English translation of Weltschmerz
translate this old Latin inscription: tempus fugit
translate do you speak English? into Thai
put I'm allergic to shellfish in Japanese for my trip
translate our restaurant menu into Chinese for tourists
Germans say prost when drinking, what does it mean
what does hasta luego mean
translate into Greek: thank you for everything
Korean to English: 감사합니다
what does 月 mean in Chinese
Happy Diwali in Hindi script please
how do you say one coffee with milk in Portuguese
in Italian please: we'll arrive late tonight
translate this text message from my Polish neighbour
I'm learning German, how do I say I'm tired
Welsh for welcome to our home
how do you say the check, please in Mandarin
translate my Airbnb message to the host into Portuguese
what does the French phrase ça va mean
translate this Hindi song line into English
can you translate fire exit into Arabic and Urdu
translate my tattoo idea strength and honour into Latin
how would a German say it's not my cup of tea
translate this short story from English into Spanish
what does ojalá mean in Spanish
what's the English for Gemütlichkeit
good luck on your exam, in Korean
translate the Finnish instructions on this box
what's I'm full in Japanese
what's the slogan think different in Italian
what does chouette mean in French
what does the word hola mean
my new neighbours only speak Portuguese, how do I say welcome to the building, let us know if you need anything
I'm going to Tokyo next week, how do I say please take me to this hotel to a taxi driver in Japanese
can you translate this whole email from my Italian supplier into English, they're asking something about delivery dates
"""

INTENTS = {
    "chat": CHAT,
    "image": IMAGE,
    "vision": VISION,
    "code": CODE,
    "math": MATH,
    "video": VIDEO,
    "audio": AUDIO,
    "search": SEARCH,
    "summarize": SUMMARIZE,
    "translate": TRANSLATE,
}
